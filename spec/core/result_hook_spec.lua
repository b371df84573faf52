-- result:map(fn), the row hook (docs/results.md): rows become other objects
-- as they are handed out, by every reading method, with fn called once per
-- row and no second pass.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local Point = {}
Point.__index = Point
local function to_point(row) return setmetatable({ id = row.id, label = row.label }, Point) end

describe("Result:map()", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "rh_points")
    conn:exec_driver_sql("CREATE TABLE rh_points (id INTEGER PRIMARY KEY, label TEXT)")
    local rows = {}
    for i = 1, 200 do rows[i] = { id = i, label = "p" .. i } end
    conn:execute(ath.text("INSERT INTO rh_points (id, label) VALUES (:id, :label)"), rows)
  end)
  after_each(function() h.drop(conn, "rh_points"); conn:close(); engine:dispose(); h.cleanup() end)

  local function points() return conn:execute(ath.text("SELECT id, label FROM rh_points ORDER BY id")) end

  it("turns each row into what fn returns, for all(), first(), one() and one_or_none()", function()
    local all = points():map(to_point):all()
    assert.equal(200, #all)
    assert.equal(Point, getmetatable(all[1]))
    assert.equal("p200", all[200].label)
    assert.equal(Point, getmetatable(points():map(to_point):first()))
    local one = conn:execute(ath.text("SELECT id, label FROM rh_points WHERE id = 3")):map(to_point):one()
    assert.equal("p3", one.label)
    assert.is_nil(conn:execute(ath.text("SELECT id, label FROM rh_points WHERE id = 0")):map(to_point):one_or_none())
  end)

  it("calls fn once per row as iteration hands it out, not for a whole batch ahead", function()
    local calls = 0
    local res = points():map(function(row) calls = calls + 1; return to_point(row) end)
    local seen = 0
    for p in res:iter() do
      seen = seen + 1
      assert.equal(seen, calls)
      assert.equal(seen, p.id)
      if seen == 10 then break end
    end
    assert.equal(10, calls)
    assert.equal(11, res:fetchone().id)
    assert.equal(11, calls)
    local batch = res:fetchmany(5)
    assert.equal(16, calls)
    assert.equal(16, batch[5].id)
    res:close()
  end)

  it("composes with mappings() and another map(), in order", function()
    local labels = points():mappings():map(function(m) return m.label end):map(string.upper):all()
    assert.equal("P1", labels[1])
    assert.equal(200, #labels)
  end)

  it("shares the cursor with the result it came from", function()
    local res = points()
    local mapped = res:map(to_point)
    assert.equal(1, res:fetchone().id)
    assert.equal(2, mapped:fetchone().id)
    res:close()
    assert.is_true(errors.is(h.catch(function() return mapped:all() end), "ResourceClosedError"))
  end)

  it("raises ArgumentError when fn is not a function", function()
    local res = points()
    local err = h.catch(function() return res:map("label") end)
    res:close()
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("map() expects a function", 1, true))
  end)

  it("works on a statement built with the expression language, with its types applied first", function()
    local md = ath.MetaData()
    local t = ath.Table("rh_points", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("label", ath.String(10)))
    local got = conn:execute(ath.select(t):where(t.c.id:le(3)):order_by(t.c.id)):map(to_point):all()
    assert.same({ 1, 2, 3 }, { got[1].id, got[2].id, got[3].id })
  end)
end)
