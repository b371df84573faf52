-- One bound value used in several places of a statement (an expression in
-- SELECT, GROUP BY and ORDER BY; a bindparam named twice) is one parameter
-- where placeholders are numbered, as SQLAlchemy renders it: PostgreSQL
-- then sees the GROUP BY expression in the select list. Values that are
-- merely equal stay separate parameters, and the compiled cache tells the
-- two shapes apart.
local ath = require("athanor")
local h = require("spec.helpers")

local md = ath.MetaData()
local orders = ath.Table("sb_orders", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("total", ath.Integer))

describe("a bound value used in several places", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    local rows = {}
    for i = 1, 10 do rows[i] = { id = i, total = i * 300 } end
    conn:execute(ath.insert(orders), rows)
  end)
  teardown(fx.close)

  local function grouped(stmt)
    local out = {}
    for _, r in ipairs(conn:execute(stmt):all()) do out[#out + 1] = { r[1], r[2] } end
    return out
  end

  it("is one parameter in SELECT, GROUP BY and ORDER BY, and the query runs", function()
    local big = orders.c.total:gt(1000)
    local stmt = ath.select(big:label("big"), ath.func.count()):group_by(big):order_by(big)
    local sql, params = stmt:compile({ dialect = "postgresql" })
    assert.equal("SELECT sb_orders.total > $1 AS big, count(*) FROM sb_orders "
      .. "GROUP BY sb_orders.total > $1 ORDER BY sb_orders.total > $1", sql)
    assert.same({ 1000 }, params)
    local sqlite_sql, sqlite_params = stmt:compile({ dialect = "sqlite" })
    assert.equal(3, select(2, sqlite_sql:gsub("%?", "")))
    assert.same({ 1000, 1000, 1000 }, sqlite_params)
    assert.same({ { false, 3 }, { true, 7 } }, grouped(stmt))
  end)

  it("keeps values that are only equal as separate parameters, and the cache tells the shapes apart", function()
    local shared = orders.c.total:gt(1000)
    local one = ath.select(shared:label("big"), ath.func.count()):group_by(shared):order_by(shared)
    assert.same({ { false, 3 }, { true, 7 } }, grouped(one))
    -- the same structure with three separate values: three parameters
    local a, b, c = orders.c.total:gt(1000), orders.c.total:gt(1000), orders.c.total:gt(1000)
    local three = ath.select(a:label("big"), ath.func.count()):group_by(b):order_by(c)
    local sql, params = three:compile({ dialect = "postgresql" })
    assert.truthy(sql:find("$3", 1, true), sql)
    assert.same({ 1000, 1000, 1000 }, params)
    -- and a shared value of another statement of the same shape binds its own value
    local again = orders.c.total:gt(2000)
    local other = ath.select(again:label("big"), ath.func.count()):group_by(again):order_by(again)
    assert.same({ { false, 6 }, { true, 4 } }, grouped(other))
    assert.same({ { false, 3 }, { true, 7 } }, grouped(one))
  end)

  it("binds a bindparam named twice once where placeholders are numbered", function()
    local k = ath.bindparam("k", nil, ath.Integer)
    local stmt = ath.select(orders.c.id):where(orders.c.total:gt(k)):where(orders.c.id:le(k)):order_by(orders.c.id)
    local sql = stmt:compile({ dialect = "postgresql" })
    assert.equal("SELECT sb_orders.id FROM sb_orders WHERE sb_orders.total > $1 AND sb_orders.id <= $1 "
      .. "ORDER BY sb_orders.id", sql)
    local ids = {}
    for _, r in ipairs(conn:execute(stmt, { k = 5 }):all()) do ids[#ids + 1] = r.id end
    assert.same({ 1, 2, 3, 4, 5 }, ids)
  end)

  it("leaves a value that would inject a value in every place", function()
    local evil = ath.literal("1' OR '1'='1")
    local stmt = ath.select(evil:label("v"), ath.func.count()):select_from(orders):group_by(evil)
    local rows = conn:execute(stmt):all()
    assert.equal(1, #rows)
    assert.equal("1' OR '1'='1", rows[1].v)
    assert.equal(10, rows[1][2])
  end)
end)
