-- Float's result processor (types.lua, l_cursor.c number_from_text): a value
-- the server sends as text is read as a number, as SQLAlchemy's Float does,
-- and the row builder does not call it for values that are numbers already.
-- Processors are spread on the stack once per fetch: these specs put typed
-- columns with and without processors side by side, so a value read from the
-- wrong column's processor shows.
local ath = require("athanor")
local h = require("spec.helpers")

local md = ath.MetaData()
local readings = ath.Table("fr_readings", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("big", ath.BigInteger{ as_string = true }),
  ath.Column("ratio", ath.Float),
  ath.Column("label", ath.String(20)),
  ath.Column("price", ath.Numeric(10, 2)),
  ath.Column("weight", ath.Float))
local r = readings.c
-- result types for text(): four Float columns a..d (never created)
local floats = ath.Table("fr_floats", ath.MetaData(), ath.Column("a", ath.Float), ath.Column("b", ath.Float),
  ath.Column("c", ath.Float), ath.Column("d", ath.Float))

local ROWS = {
  { id = 1, big = "9007199254740993", ratio = 0.25, label = "one", price = "1.50", weight = 2.5 },
  { id = 2, big = "2", ratio = ath.null, label = "two", price = "3.00", weight = -1.0 },
  { id = 3, big = "3", ratio = 1e300, label = ath.null, price = ath.null, weight = ath.null },
}

describe("Float results", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    conn:execute(ath.insert(readings), ROWS)
  end)
  teardown(fx.close)

  local function check_rows(rows)
    assert.equal(3, #rows)
    assert.same({ 1, "9007199254740993", 0.25, "one", "1.50", 2.5 },
      { rows[1].id, rows[1].big, rows[1].ratio, rows[1].label, rows[1].price, rows[1].weight })
    assert.same({ 2, "2", "two", "3.00", -1.0 }, { rows[2].id, rows[2].big, rows[2].label, rows[2].price, rows[2].weight })
    assert.is_nil(rows[2].ratio)
    assert.equal(1e300, rows[3].ratio)
    assert.is_nil(rows[3].label); assert.is_nil(rows[3].price); assert.is_nil(rows[3].weight)
    for _, row in ipairs(rows) do
      if row.ratio ~= nil then assert.equal("number", type(row.ratio)) end
      if row.weight ~= nil then assert.equal("number", type(row.weight)) end
    end
  end

  it("reads every column of a table mixing typed columns with and without processors", function()
    check_rows(conn:execute(ath.select(readings):order_by(r.id)):all())
  end)

  it("reads the same rows streamed, one by one and as one()", function()
    local rows = {}
    for row in conn:execute(ath.select(readings):order_by(r.id), nil, { stream = true }) do rows[#rows + 1] = row end
    check_rows(rows)
    local res = conn:execute(ath.select(readings):order_by(r.id))
    check_rows({ res:fetchone(), res:fetchone(), res:fetchone() })
    local one = conn:execute(ath.select(readings):where(r.id:eq(2))):one()
    assert.same({ "2", "two", "3.00", -1.0 }, { one.big, one.label, one.price, one.weight })
    assert.is_nil(one.ratio)
  end)

  it("keeps NULL Floats as ath.null under the nulls option", function()
    local row = conn:execute(ath.select(readings):where(r.id:eq(3)), nil, { nulls = ath.null }):one()
    assert.equal(ath.null, row.weight)
    assert.equal(ath.null, row.label)
    assert.equal(1e300, row.ratio)
  end)

  it("reads a Float computed by the server as a number", function()
    local avg = conn:execute(ath.select(ath.func.avg(r.weight):label("a"), ath.func.avg(r.id):label("b"))):one()
    assert.equal("number", type(avg.a)); assert.equal(0.75, avg.a)
    assert.equal("number", type(avg.b)); assert.equal(2, avg.b)
  end)
end)

describe("Float results sent as text #postgresql", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)

  local function typed(sql)
    local f = floats.c
    return conn:execute(ath.text(sql):columns(f.a, f.b, f.c, f.d)):one()
  end

  it("reads numeric text as numbers, NaN and the infinities included", function()
    local row = typed("SELECT CAST('2.50' AS numeric) AS a, CAST('NaN' AS numeric) AS b, "
      .. "CAST('Infinity' AS numeric) AS c, CAST('-Infinity' AS numeric) AS d")
    assert.equal(2.5, row.a)
    assert.is_true(row.b ~= row.b)
    assert.equal(math.huge, row.c)
    assert.equal(-math.huge, row.d)
  end)

  it("reads a whole numeric as tonumber would, and leaves text that is no number as it is", function()
    local row = typed("SELECT CAST(12 AS numeric) AS a, 'abc' AS b, CAST(NULL AS numeric) AS c, CAST(0.5 AS float8) AS d")
    assert.equal(12, row.a)
    if h.lua54 then assert.equal("integer", math.type(row.a)) end
    assert.equal("abc", row.b)
    assert.is_nil(row.c)
    assert.equal(0.5, row.d)
  end)
end)
