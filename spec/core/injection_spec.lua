-- Hostile input never changes a statement's shape: values are bound, like
-- patterns are values, in_ lists are values, and identifiers are quoted by
-- the dialect. The data round-trips byte for byte.
local ath = require("athanor")
local h = require("spec.helpers")

local HOSTILE = {
  "'; DROP TABLE inj_people; --",
  "\" OR 1=1 --",
  "Robert'); DELETE FROM inj_people WHERE ('1'='1",
  "?", "$1", ":name", "%", "_", "\\", "''", "``", "/* comment */",
  "line\nbreak", "ünïcödé ✓", string.rep("x", 10000),
}
-- PostgreSQL text cannot hold a zero byte (bytea can); SQLite text can
if h.is_sqlite then HOSTILE[#HOSTILE + 1] = "zero\0byte" end

-- The statement text with every placeholder replaced by "?" (PG uses $n):
-- what must not change between a harmless and a hostile value.
local function shape(stmt, dialect)
  local sql = stmt:compile({ dialect = dialect })
  return (sql:gsub("%$%d+", "?"))
end

describe("injection", function()
  local conn
  -- A table and columns whose names need quoting: quotes, spaces, a reserved word.
  local md = ath.MetaData()
  local people = ath.Table('inj "people" table', md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("select", ath.Text),
    ath.Column("it's name", ath.Text),
    ath.Column("Mixed Case", ath.Text))
  local c = people.c
  local fx = h.schema_fixture(md)

  setup(function()
    conn = fx.open()
  end)

  teardown(function() fx.close() end)

  it("hostile values keep the SQL shape and round-trip exactly", function()
    local base_ins = shape(ath.insert(people):values({ id = 0, ["select"] = "a", ["it's name"] = "b", ["Mixed Case"] = "c" }), "sqlite")
    local base_sel = shape(ath.select(people):where(c["select"]:eq("a"), c["it's name"]:like("b")), "postgresql")
    for i, v in ipairs(HOSTILE) do
      local ins = ath.insert(people):values({ id = i, ["select"] = v, ["it's name"] = v, ["Mixed Case"] = v })
      assert.equal(base_ins, shape(ins, "sqlite"))
      conn:execute(ins)
      local sel = ath.select(people):where(c["select"]:eq(v), c["it's name"]:like(v))
      assert.equal(base_sel, shape(sel, "postgresql"))
      local row = conn:execute(ath.select(people):where(c.id:eq(i))):one()
      assert.equal(v, row["select"])
      assert.equal(v, row["it's name"])
      assert.equal(v, row["Mixed Case"])
      assert.equal(i, conn:execute(ath.select(c.id):where(c["select"]:eq(v))):scalar())
    end
    assert.equal(#HOSTILE, conn:execute(ath.select(ath.func.count()):select_from(people)):scalar())
  end)

  it("LIKE patterns and startswith values are data, not SQL", function()
    local n = conn:execute(ath.select(ath.func.count()):select_from(people)
      :where(c["select"]:like("%' OR '1'='1"))):scalar()
    assert.equal(0, n)
    -- startswith escapes the wildcards: "%" matches only the value that starts with "%"
    assert.same({ 7 }, (function()
      local ids = {}
      for row in conn:execute(ath.select(c.id):where(c["select"]:startswith("%")):order_by(c.id)) do ids[#ids + 1] = row.id end
      return ids
    end)())
  end)

  it("in_ lists of hostile strings keep the shape and match exactly", function()
    local list = { HOSTILE[1], HOSTILE[2], HOSTILE[3] }
    local sel = ath.select(c.id):where(c["select"]:in_(list)):order_by(c.id)
    assert.equal("SELECT id FROM x WHERE sel IN (?, ?, ?) ORDER BY id",
      (shape(sel, "sqlite"):gsub('"inj ""people"" table"%.', ""):gsub('"inj ""people"" table"', "x"):gsub('"select"', "sel")))
    local ids = {}
    for row in conn:execute(sel) do ids[#ids + 1] = row.id end
    assert.same({ 1, 2, 3 }, ids)
  end)

  it("identifiers with quotes and spaces are quoted per dialect", function()
    local sel = ath.select(c["it's name"]):where(c["Mixed Case"]:eq("x"))
    assert.equal([[SELECT "inj ""people"" table"."it's name" FROM "inj ""people"" table" WHERE "inj ""people"" table"."Mixed Case" = ?]],
      (sel:compile({ dialect = "sqlite" })))
    assert.equal("SELECT `inj \"people\" table`.`it's name` FROM `inj \"people\" table` WHERE `inj \"people\" table`.`Mixed Case` = ?",
      (sel:compile({ dialect = "mysql" })))
    local tick = ath.Table("a`b", ath.MetaData(), ath.Column("c`d", ath.Integer))
    assert.equal("SELECT `a``b`.`c``d` FROM `a``b`", (ath.select(tick):compile({ dialect = "mysql" })))
  end)

  it("the database is intact after every attempt", function()
    assert.equal(#HOSTILE, conn:execute(ath.select(ath.func.count()):select_from(people)):scalar())
    conn:execute(ath.update(people):where(c["select"]:eq(HOSTILE[1])):values({ ["Mixed Case"] = HOSTILE[3] }))
    conn:execute(ath.delete(people):where(c["it's name"]:eq(HOSTILE[3])))
    assert.equal(#HOSTILE - 1, conn:execute(ath.select(ath.func.count()):select_from(people)):scalar())
    assert.equal(HOSTILE[3], conn:execute(ath.select(c["Mixed Case"]):where(c.id:eq(1))):scalar())
  end)

  it("function names and custom operators cannot carry SQL", function()
    assert.is_true(ath.errors.is(h.catch(function() return ath.func["x(); DROP TABLE t; --"] end), "ArgumentError"))
    assert.is_true(ath.errors.is(h.catch(function() return c.id:op("= 1; DROP TABLE t; --") end), "ArgumentError"))
    assert.is_true(ath.errors.is(h.catch(function() return ath.bindparam("a; b") end), "ArgumentError"))
  end)
end)
