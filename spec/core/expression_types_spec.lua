-- Types of expressions, labels and text fragments (issue 14 item 4), against
-- SQLAlchemy 1.4: every expected row below is what SQLAlchemy returns for the
-- same statement on the same backend (Decimal values as their text), and
-- every result type follows sqlalchemy/sql/sqltypes.py _expression_adaptations.
local ath = require("athanor")
local h = require("spec.helpers")

local errors = ath.errors

local md = ath.MetaData()
local orders = ath.Table("xt_orders", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("user_id", ath.Integer),
  ath.Column("total_cents", ath.Integer),
  ath.Column("price", ath.Numeric(10, 2)),
  ath.Column("ratio", ath.Float),
  ath.Column("day", ath.Date),
  ath.Column("code", ath.String(10)))
local o = orders.c

local ROWS = {
  { id = 1, user_id = 1, total_cents = 500, price = "5.00", ratio = 0.5, day = "2026-01-01", code = "a" },
  { id = 2, user_id = 1, total_cents = 250, price = "2.50", ratio = 1.5, day = "2026-01-02", code = "b" },
  { id = 3, user_id = 2, total_cents = 3, price = "1", ratio = 2.0, day = "2026-01-03", code = "c" },
}

-- The rows of a result as arrays of values (row[i]).
local function values(result)
  local out = {}
  for row in result:iter() do
    local r = {}
    for i = 1, #result:keys() do r[i] = row[i] end
    out[#out + 1] = r
  end
  return out
end

-- Floats read back as Lua floats where the interpreter tells them apart.
local function assert_float(v)
  assert.equal("number", type(v))
  if math.type then assert.equal("float", math.type(v)) end
end

describe("Expression result types follow SQLAlchemy's rules", function()
  it("makes an Integer column times, plus or minus a Lua float a Float expression", function()
    assert.equal(ath.Float, (o.total_cents * 0.5).type)
    assert.equal(ath.Float, (o.total_cents + 0.5).type)
    assert.equal(ath.Float, (o.total_cents - 0.5).type)
    assert.equal(ath.Float, (0.5 * o.total_cents).type)
    assert.equal(ath.Float, (o.total_cents * o.ratio).type)
  end)

  it("keeps Integer for Integer operands and Boolean for comparisons", function()
    assert.equal(o.total_cents.type, (o.total_cents * 2).type)
    assert.equal(o.total_cents.type, (o.total_cents + o.user_id).type)
    assert.equal(o.total_cents.type, (o.total_cents % 2).type)
    assert.equal(o.total_cents.type, (-o.total_cents).type)
    assert.equal(ath.Boolean, o.total_cents:gt(2.5).type)
    assert.equal(ath.Boolean, o.total_cents:eq(o.ratio).type)
  end)

  it("divides Integer by Integer as true division (a Float), per API.md", function()
    assert.equal(ath.Float, (o.total_cents / 2).type)
    assert.equal(ath.Float, (o.total_cents / o.user_id).type)
  end)

  it("keeps the Numeric type (with its scale) when Integers meet a Numeric", function()
    assert.equal(o.price.type, (o.price * 2).type)
    assert.equal(o.price.type, (o.price + 1).type)
    assert.equal(o.price.type, (o.price * 0.5).type)
    assert.equal(o.price.type, (o.total_cents * o.price).type)
    assert.equal(o.price.type, (o.price / o.total_cents).type)
  end)

  it("makes a Numeric with a Float a Float, either way round", function()
    assert.equal(ath.Float, (o.price * o.ratio).type)
    assert.equal(ath.Float, (o.ratio * o.price).type)
    assert.equal(ath.Float, (o.ratio * 2).type)
  end)

  it("makes a Date plus or minus an Integer a Date, and a Date minus a Date an Integer", function()
    assert.equal(o.day.type, (o.day + 1).type)
    assert.equal(o.day.type, (o.day - 1).type)
    assert.equal(ath.Integer, (o.day - o.day).type)
  end)

  it("turns + between strings into || as SQLAlchemy does, keeping the string type", function()
    local e = o.code + "-x"
    assert.equal(o.code.type, e.type)
    assert.equal("xt_orders.code || ?", tostring(e))
    assert.equal("'p-' || xt_orders.code", tostring(ath.literal_column("'p-'") + o.code))
    assert.equal("xt_orders.total_cents + ?", tostring(o.total_cents + 1))
  end)

  it("gives an untyped operand the other operand's type when the operator commutes", function()
    local x = ath.literal_column("x")
    assert.equal(o.total_cents.type, (x + o.total_cents).type)
    assert.equal(o.total_cents.type, (x * o.total_cents).type)
    assert.is_nil((x - o.total_cents).type)
  end)

  it("keeps the column's type for a value it can hold", function()
    local _, params = ath.select(o.id):where(o.total_cents:gt(2), o.price:gt(2.5)):compile()
    assert.same({ 2, "2.5" }, params)
  end)

  it("binds a float compared with an Integer column as the float", function()
    local sql, params = ath.select(o.id):where(o.total_cents:gt(2.5), o.total_cents:between(0.5, 9.5),
      o.total_cents:in_({ 1.5, 3 })):compile()
    assert.equal("SELECT xt_orders.id FROM xt_orders WHERE xt_orders.total_cents > ? AND "
      .. "xt_orders.total_cents BETWEEN ? AND ? AND xt_orders.total_cents IN (?, ?)", sql)
    assert.same({ 2.5, 0.5, 9.5, 1.5, 3 }, params)
  end)

  it("still refuses a value of the wrong kind for the column", function()
    local err = h.catch(function() return o.total_cents:gt("many") end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("expects an integer", 1, true))
    err = h.catch(function() return o.total_cents + "many" end)
    assert.is_true(errors.is(err, "ArgumentError"))
  end)
end)

describe("Expression types executed", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    conn:execute(ath.insert(orders), ROWS)
  end)
  teardown(fx.close)

  it("computes an Integer column with a Lua float as SQLAlchemy does", function()
    local rows = values(conn:execute(ath.select(o.id, o.total_cents * 0.5, o.total_cents + 0.5, 0.5 * o.total_cents,
      o.total_cents - 0.5):order_by(o.id)))
    -- SQLAlchemy: [(1, 250.0, 500.5, 250.0, 499.5), (2, 125.0, 250.5, 125.0, 249.5), (3, 1.5, 3.5, 1.5, 2.5)]
    assert.same({ { 1, 250.0, 500.5, 250.0, 499.5 }, { 2, 125.0, 250.5, 125.0, 249.5 }, { 3, 1.5, 3.5, 1.5, 2.5 } },
      rows)
    for _, r in ipairs(rows) do
      for i = 2, 5 do assert_float(r[i]) end
    end
  end)

  it("concatenates strings joined by +", function()
    -- SQLAlchemy: [('a-x', 'p-a'), ...]
    assert.same({ { "a-x", "p-a" }, { "b-x", "p-b" }, { "c-x", "p-c" } },
      values(conn:execute(ath.select(o.code + "-x", ath.literal_column("'p-'") + o.code):order_by(o.id))))
  end)

  it("filters an Integer column by floats in gt, between and in_", function()
    local function ids(stmt) return values(conn:execute(stmt:order_by(o.id))) end
    assert.same({ { 1 }, { 2 }, { 3 } }, ids(ath.select(o.id):where(o.total_cents:gt(2.5))))
    assert.same({ { 2 }, { 3 } }, ids(ath.select(o.id):where(o.total_cents:between(2.5, 300.5))))
    assert.same({ { 2 }, { 3 } }, ids(ath.select(o.id):where(o.total_cents:in_({ 3.0, 250 }))))
    assert.same({ { 1 } }, ids(ath.select(o.id):where((o.total_cents * 0.5):ge(250))))
  end)

  it("refuses a float inserted into an Integer column and writes nothing", function()
    local err = h.catch(function()
      conn:execute(ath.insert(orders):values({ id = 9, total_cents = 0.5 }))
    end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("expects an integer, got 0.5", 1, true))
    assert.equal(3, conn:execute(ath.select(ath.func.count()):select_from(orders)):scalar())
  end)

  it("returns Numeric(10, 2) values and Numeric expressions with their scale", function()
    local rows = values(conn:execute(ath.select(o.price, o.price * 2, o.price * o.total_cents, o.total_cents * o.price,
      o.price + 1, o.price * o.ratio, o.total_cents * o.ratio):order_by(o.id)))
    -- SQLAlchemy: (Decimal('5.00'), Decimal('10.00'), Decimal('2500.00'), Decimal('2500.00'), Decimal('6.00'), 2.5, 250.0) ...
    assert.same({
      { "5.00", "10.00", "2500.00", "2500.00", "6.00", 2.5, 250.0 },
      { "2.50", "5.00", "625.00", "625.00", "3.50", 3.75, 375.0 },
      { "1.00", "2.00", "3.00", "3.00", "2.00", 2.0, 6.0 },
    }, rows)
  end)

  it("keeps the scale of a Numeric times a float", function()
    local rows = values(conn:execute(ath.select(o.price * 0.5):order_by(o.id)))
    -- SQLAlchemy: SQLite 2.50, 1.25, 0.50 (the column's scale); PostgreSQL keeps the server's decimal
    for i, want in ipairs({ "2.50", "1.25", "0.50" }) do
      assert.equal("string", type(rows[i][1]))
      if h.is_sqlite then assert.equal(want, rows[i][1]) else assert.equal(tonumber(want), tonumber(rows[i][1])) end
    end
  end)

  it("keeps the scale through sum() and max() of a Numeric column", function()
    local row = values(conn:execute(ath.select(ath.func.sum(o.price), ath.func.max(o.price),
      ath.func.sum(o.total_cents * 0.5))))[1]
    -- SQLAlchemy: (Decimal('8.50'), Decimal('5.00'), 376.5)
    assert.same({ "8.50", "5.00", 376.5 }, row)
  end)

  it("formats a driver's number with the type's scale, and refuses a scale that is not an integer", function()
    assert.equal("5.00", ath.Numeric(10, 2):result_processor()(5))
    assert.equal("2.12", ath.Numeric(10, 2):result_processor()(2.125))   -- Python's "%.2f" too
    assert.equal("7", ath.Numeric(10, 0):result_processor()(7.0))
    assert.equal("12.50", ath.Numeric(10, 2):result_processor()("12.50"))
    local err = h.catch(function() return ath.Numeric(10, 2.5) end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("scale must be an integer", 1, true))
  end)

  it("reads a Float expression the server computes as a decimal as a number", function()
    -- avg() is a Float (API.md); PostgreSQL computes avg(integer) as numeric
    local row = values(conn:execute(ath.select(ath.func.avg(o.total_cents), ath.func.avg(o.ratio))))[1]
    assert.equal(251, row[1])
    assert_float(row[1])
    assert.is_true(math.abs(row[2] - 4 / 3) < 1e-12)
  end)

  it("returns numbers for Numeric(p, s, { asdecimal = false })", function()
    local approx = ath.Numeric(10, 2, { asdecimal = false })
    local rows = values(conn:execute(ath.select(ath.cast(o.price, approx)):order_by(o.id)))
    assert.same({ { 5 }, { 2.5 }, { 1 } }, rows)
  end)
end)

describe("A label renders as its name or its expression by where it stands", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    conn:execute(ath.insert(orders), ROWS)
  end)
  teardown(fx.close)

  local n = ath.func.count():label("n")

  it("renders a labelled aggregate in HAVING as its expression", function()
    local s = ath.select(o.user_id, n):group_by(o.user_id):having(n:gt(1)):order_by(n)
    assert.equal("SELECT xt_orders.user_id, count(*) AS n FROM xt_orders GROUP BY xt_orders.user_id "
      .. "HAVING count(*) > ? ORDER BY n", tostring(s))
    assert.equal("SELECT xt_orders.user_id, count(*) AS n FROM xt_orders GROUP BY xt_orders.user_id "
      .. "HAVING count(*) > $1 ORDER BY n", (s:compile({ dialect = "postgresql" })))
    -- SQLAlchemy: [(1, 2)]
    assert.same({ { 1, 2 } }, values(conn:execute(s)))
  end)

  it("renders a label in WHERE as its expression", function()
    local u = (o.user_id * 10):label("u")
    local s = ath.select(u):where(u:gt(15))
    assert.equal("SELECT xt_orders.user_id * ? AS u FROM xt_orders WHERE xt_orders.user_id * ? > ?", tostring(s))
    assert.same({ { 20 } }, values(conn:execute(s)))
  end)

  it("orders and groups by a label of the columns clause by its name", function()
    local u = (o.user_id * 10):label("u")
    local s = ath.select(u, n):group_by(u):order_by(n:desc(), u)
    assert.equal("SELECT xt_orders.user_id * ? AS u, count(*) AS n FROM xt_orders GROUP BY u ORDER BY n DESC, u",
      tostring(s))
    -- SQLAlchemy: [(10, 2), (20, 1)]
    assert.same({ { 10, 2 }, { 20, 1 } }, values(conn:execute(s)))
  end)

  it("orders by the expression of a label that is not in the columns clause", function()
    local neg = (o.total_cents * -1):label("neg")
    local s = ath.select(o.id):order_by(neg)
    assert.equal("SELECT xt_orders.id FROM xt_orders ORDER BY xt_orders.total_cents * ?", tostring(s))
    assert.same({ { 1 }, { 2 }, { 3 } }, values(conn:execute(s)))
    -- a label of the same name over another expression is not the selected one
    local other = ath.func.max(o.id):label("n")
    assert.equal("SELECT xt_orders.user_id, count(*) AS n FROM xt_orders GROUP BY xt_orders.user_id "
      .. "ORDER BY max(xt_orders.id)", tostring(ath.select(o.user_id, n):group_by(o.user_id):order_by(other)))
  end)

  it("renders a label inside a function of the columns clause as its expression", function()
    local u = (o.user_id * 10):label("u")
    local s = ath.select(ath.func.max(u):label("top"))
    assert.equal("SELECT max(xt_orders.user_id * ?) AS top FROM xt_orders", tostring(s))
    assert.same({ { 20 } }, values(conn:execute(s)))
  end)

  it("prints a label alone as its expression", function()
    assert.equal("count(*)", tostring(n))
  end)

  it("keeps AS for a label in RETURNING", function()
    local sql = ath.update(orders):values({ user_id = 1 }):where(o.id:eq(1))
      :returning((o.total_cents * 2):label("twice")):compile({ dialect = "postgresql" })
    assert.equal("UPDATE xt_orders SET user_id = $1 WHERE xt_orders.id = $2 RETURNING total_cents * $3 AS twice", sql)
  end)
end)

describe("Text fragments go wherever SQLAlchemy takes one", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    conn:execute(ath.insert(orders), ROWS)
  end)
  teardown(fx.close)

  it("orders by a text fragment", function()
    local s = ath.select(o.id):order_by(ath.text("xt_orders.id DESC"))
    assert.equal("SELECT xt_orders.id FROM xt_orders ORDER BY xt_orders.id DESC", tostring(s))
    -- SQLAlchemy: [(3,), (2,), (1,)]
    assert.same({ { 3 }, { 2 }, { 1 } }, values(conn:execute(s)))
  end)

  it("takes text in the columns clause, WHERE, GROUP BY, HAVING and ORDER BY together", function()
    local s = ath.select(ath.text("xt_orders.user_id"), ath.func.count()):select_from(orders)
      :where(ath.text("xt_orders.id > :lo"):bindparams({ lo = 0 })):group_by(ath.text("xt_orders.user_id"))
      :having(ath.text("count(*) >= 1")):order_by(ath.text("xt_orders.user_id"))
    assert.equal("SELECT xt_orders.user_id, count(*) FROM xt_orders WHERE xt_orders.id > ? GROUP BY xt_orders.user_id "
      .. "HAVING count(*) >= 1 ORDER BY xt_orders.user_id", tostring(s))
    -- SQLAlchemy: [(1, 2), (2, 1)]
    assert.same({ { 1, 2 }, { 2, 1 } }, values(conn:execute(s)))
  end)

  it("orders a union by a text fragment", function()
    local s = ath.union(ath.select(o.id):where(o.id:lt(2)), ath.select(o.id):where(o.id:gt(2)))
      :order_by(ath.text("id DESC"))
    assert.same({ { 3 }, { 1 } }, values(conn:execute(s)))
  end)

  it("refuses a Lua string in order_by and group_by, naming ath.text", function()
    local err = h.catch(function() return ath.select(o.id):order_by("xt_orders.id") end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("order_by()", 1, true))
    assert.truthy(tostring(err):find("ath.text", 1, true))
    err = h.catch(function() return ath.select(o.id):group_by(42) end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("group_by()", 1, true))
  end)
end)
