-- Every schema type through the expression language on the test backend:
-- converted on the way in by its bind processor and on the way out by its
-- result processor (Boolean as 0/1 on SQLite, JSON via lua-cjson, exact
-- Numeric strings, ISO-8601 date-times, binary-safe LargeBinary, Enum checked).
local ath = require("athanor")
local h = require("spec.helpers")

describe("typed round trip through the expression language", function()
  local md = ath.MetaData()
  local mood = ath.Enum({ "happy", "sad", "it's complicated", name = "rt_mood" })
  local things = ath.Table("rt_things", md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("small", ath.SmallInteger),
    ath.Column("big", ath.BigInteger),
    ath.Column("ratio", ath.Float),
    ath.Column("price", ath.Numeric(12, 4)),
    ath.Column("approx", ath.Numeric(12, 2, { asdecimal = false })),
    ath.Column("flag", ath.Boolean),
    ath.Column("label", ath.String(100)),
    ath.Column("body", ath.Text),
    ath.Column("day", ath.Date),
    ath.Column("at", ath.DateTime),
    ath.Column("clock", ath.Time),
    ath.Column("blob", ath.LargeBinary),
    ath.Column("doc", ath.JSON),
    ath.Column("mood", mood),
    ath.Column("uid", ath.Uuid))
  local c = things.c
  local fx = h.schema_fixture(md)
  local conn

  setup(function()
    conn = fx.open()
  end)

  teardown(function() fx.close() end)

  local full = {
    small = -32768, big = 9007199254740993, ratio = 0.1, price = "12345678.1234", approx = 12.5,
    flag = true, label = "ünïcödé ✓", body = string.rep("línea\n", 100), day = "2026-11-24",
    at = "2026-11-24 13:05:09.123456", clock = "13:05:09", blob = "\0\1\2\255binary\0",
    doc = { name = "x", tags = { "a", "b" }, nested = { deep = { n = 1.5 } } }, mood = "it's complicated",
    uid = "0f8fad5b-d9cb-469f-a165-70867728950e",
  }
  if not require("athanor.core").has_integers then full.big = 2 ^ 53 end   -- LuaJIT numbers are doubles

  it("every type round-trips, and NULL comes back as nil", function()
    local r = conn:execute(ath.insert(things):values(full))
    local id = r:inserted_primary_key()[1]
    local row = conn:execute(ath.select(things):where(c.id:eq(id))):one()
    assert.equal(full.small, row.small)
    assert.equal(full.big, row.big)
    assert.equal(full.ratio, row.ratio)
    assert.equal(full.price, row.price)
    assert.equal(12.5, row.approx)
    assert.equal(true, row.flag)
    assert.equal(full.label, row.label)
    assert.equal(full.body, row.body)
    assert.equal(full.day, row.day)
    assert.equal(full.at, row.at)
    assert.equal(full.clock, row.clock)
    assert.equal(full.blob, row.blob)
    assert.same(full.doc, row.doc)
    assert.equal(full.mood, row.mood)
    assert.equal(full.uid:gsub("-", ""), (row.uid:gsub("-", "")))

    local nid = conn:execute(ath.insert(things):values({ flag = false })):inserted_primary_key()[1]
    local nrow = conn:execute(ath.select(things):where(c.id:eq(nid))):one()
    assert.equal(false, nrow.flag)
    for _, col in ipairs(things.columns) do
      if col.name ~= "id" and col.name ~= "flag" then assert.is_nil(nrow[col.name], col.name) end
    end
  end)

  it("values compare through the same conversions", function()
    assert.equal(1, conn:execute(ath.select(ath.func.count()):select_from(things):where(c.flag:eq(true))):scalar())
    assert.equal(1, conn:execute(ath.select(ath.func.count()):select_from(things):where(c.day:eq("2026-11-24"))):scalar())
    assert.equal(1, conn:execute(ath.select(ath.func.count()):select_from(things):where(c.mood:eq("it's complicated"))):scalar())
    assert.equal(1, conn:execute(ath.select(ath.func.count()):select_from(things):where(c.price:eq("12345678.1234"))):scalar())
  end)

  it("DateTime accepts the T separator", function()
    conn:begin()
    local id = conn:execute(ath.insert(things):values({ at = "2026-01-02T03:04:05" })):inserted_primary_key()[1]
    assert.equal("2026-01-02 03:04:05", conn:execute(ath.select(c.at):where(c.id:eq(id))):scalar())
    conn:rollback()
  end)

  it("wrong Lua types and values outside an Enum are refused before the database sees them", function()
    local cases = {
      { { small = "1" }, "Column 'small' expects an integer, got string" },
      { { flag = 1 }, "Column 'flag' expects a boolean, got number" },
      { { label = 5 }, "Column 'label' expects a string, got number" },
      { { price = "abc" }, "Column 'price' expects a number or a decimal string, got string" },
      { { day = "yesterday" }, "Column 'day' expects an ISO date string (2026-11-24), got string" },
      { { mood = "angry" }, "Column 'mood': 'angry' is not one of the Enum values happy, sad, it's complicated" },
    }
    for _, case in ipairs(cases) do
      local err = h.catch(function() conn:execute(ath.insert(things):values(case[1])) end)
      assert.is_true(ath.errors.is(err, "ArgumentError"), tostring(err))
      assert.equal(case[2], err.message)
    end
    assert.equal(2, conn:execute(ath.select(ath.func.count()):select_from(things)):scalar())
  end)

  it("executemany converts every row", function()
    conn:begin()
    conn:execute(ath.insert(things), { { flag = true, doc = { 1, 2 } }, { flag = false, doc = { k = "v" } } })
    local rows = conn:execute(ath.select(c.flag, c.doc):where(c.id:gt(2)):order_by(c.id)):all()
    assert.same({ true, { 1, 2 } }, { rows[1].flag, rows[1].doc })
    assert.same({ false, { k = "v" } }, { rows[2].flag, rows[2].doc })
    conn:rollback()
  end)
end)
