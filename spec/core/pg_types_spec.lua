-- Parameters keep their type on PostgreSQL (issue 14, item 1): a value sent
-- where the SQL gives the server no context comes back as the same Lua type
-- on every backend. The driver sends each parameter's type from the Lua
-- value (int4/int8, float8, bool, bytea; text and NULL left to the server),
-- and the compiler casts a typed literal the statement would otherwise lose.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("a parameter sent with no context in the SQL", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
  end)
  after_each(function()
    conn:close(); engine:dispose(); h.cleanup()
  end)

  local function echo(v)
    return conn:execute(ath.text("SELECT :v AS v"), { v = v }):scalar()
  end

  it("comes back as the integer it was, on every backend", function()
    local v = echo(5)
    assert.equal("number", type(v))
    assert.equal(5, v)
    if math.type then assert.equal("integer", math.type(v)) end
  end)

  it("keeps integers beyond 32 bits, floats, booleans and bytes by their Lua type", function()
    assert.equal(5000000000, echo(5000000000))
    assert.equal(-7, echo(-7))
    assert.equal(2.5, echo(2.5))
    if math.type then assert.equal("float", math.type(echo(2.0))) end
    assert.equal("abc", echo("abc"))
    assert.is_nil(echo(ath.null))
  end)

  it("serves one statement run first with 5, then 5000000000, 2.5, a string and NULL", function()
    local stmt = ath.text("SELECT :v AS v")
    for _, v in ipairs({ 5, 5000000000, 2.5, "x", 5, 2.5 }) do
      assert.equal(v, conn:execute(stmt, { v = v }):scalar())
    end
    assert.is_nil(conn:execute(stmt, { v = ath.null }):scalar())
    assert.equal(6, conn:execute(stmt, { v = 6 }):scalar())
  end)

  it("adds integers and floats between parameters", function()
    assert.equal(7, conn:execute(ath.text("SELECT :a + :b"), { a = 3, b = 4 }):scalar())
    assert.equal(5000000004, conn:execute(ath.text("SELECT :a + :b"), { a = 5000000000, b = 4 }):scalar())
    assert.equal(5.5, conn:execute(ath.text("SELECT :a + :b"), { a = 3, b = 2.5 }):scalar())
  end)

  it("still takes the column's own type where the SQL gives one", function()
    conn:exec_driver_sql("CREATE TEMP TABLE pgt_nums (id INTEGER PRIMARY KEY, big BIGINT, amount NUMERIC(10, 2), "
      .. "ratio FLOAT, name VARCHAR(20))")
    conn:execute(ath.text("INSERT INTO pgt_nums (id, big, amount, ratio, name) VALUES (:id, :big, :amount, :ratio, :name)"),
      { { id = 1, big = 5000000000, amount = 3, ratio = 2, name = "one" },
        { id = 2, big = 7, amount = 2.5, ratio = 0.5, name = ath.null } })
    assert.equal(1, conn:execute(ath.text("SELECT count(*) FROM pgt_nums WHERE big = :b"), { b = 5000000000 }):scalar())
    assert.equal(1, conn:execute(ath.text("SELECT count(*) FROM pgt_nums WHERE id > :x"), { x = 1.5 }):scalar())
    assert.equal(0, conn:execute(ath.text("SELECT count(*) FROM pgt_nums WHERE id = :x"), { x = 5000000000 }):scalar())
    assert.equal(2, conn:execute(ath.text("SELECT count(*) FROM pgt_nums WHERE ratio >= :x"), { x = 0 }):scalar())
    conn:exec_driver_sql("DROP TABLE pgt_nums")
  end)
end)

describe("a parameter sent with no context #postgresql", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
  end)
  after_each(function()
    conn:close(); engine:dispose(); h.cleanup()
  end)

  it("comes back as the boolean it was (SQLite has no boolean: 1 and 0)", function()
    local stmt = ath.text("SELECT :v AS v")
    assert.equal(true, conn:execute(stmt, { v = true }):scalar())
    assert.equal(false, conn:execute(stmt, { v = false }):scalar())
    assert.equal(5, conn:execute(stmt, { v = 5 }):scalar())
  end)

  it("resolves functions that take an integer: repeat, generate_series", function()
    assert.equal("xxx", conn:execute(ath.text("SELECT repeat('x', :n)"), { n = 3 }):scalar())
    local rows = conn:execute(ath.text("SELECT g FROM generate_series(1, :n) AS g"), { n = 4 }):all()
    assert.equal(4, #rows)
    assert.equal(4, rows[4].g)
    rows = conn:execute(ath.text("SELECT g FROM generate_series(:a, :b) AS g"), { a = 5000000000, b = 5000000001 }):all()
    assert.equal(5000000001, rows[2].g)
  end)

  it("sends bytes as bytea and a string into a bytea column unchanged", function()
    conn:exec_driver_sql("CREATE TEMP TABLE pgt_bytes (b BYTEA)")
    conn:execute(ath.text("INSERT INTO pgt_bytes (b) VALUES (:b)"), { b = "a\\x00\0b" })
    assert.equal("a\\x00\0b", conn:execute(ath.text("SELECT b FROM pgt_bytes")):scalar())
    local blob = conn:execute(ath.text("SELECT :b AS b"), { b = { _ath_type = "blob", "\0\1\2" } }):scalar()
    assert.equal("\0\1\2", blob)
  end)

  it("parses a statement once per set of value types on a connection", function()
    local stmt = ath.text("SELECT :v AS v")
    conn:execute(stmt, { v = 1 }):scalar()
    local before = conn:execute(ath.text("SELECT count(*) FROM pg_prepared_statements")):scalar()
    for _ = 1, 3 do
      for _, v in ipairs({ 1, 5000000000, 2.5, "x", true, ath.null }) do conn:execute(stmt, { v = v }):scalar() end
    end
    local after = conn:execute(ath.text("SELECT count(*) FROM pg_prepared_statements")):scalar()
    assert.equal(before + 4, after)           -- int4 was parsed already; int8, float8, bool, untyped ("x", NULL)
  end)

  it("runs executemany over rows whose value types differ", function()
    conn:exec_driver_sql("CREATE TEMP TABLE pgt_many (id BIGINT, note TEXT)")
    local n = conn:execute(ath.text("INSERT INTO pgt_many (id, note) VALUES (:id, :note)"),
      { { id = 1, note = "a" }, { id = 5000000000, note = ath.null }, { id = 3, note = "c" }, { id = 4, note = ath.null } })
    assert.equal(4, n.rowcount)
    assert.equal(5000000008, conn:execute(ath.text("SELECT sum(id) FROM pgt_many")):scalar() + 0)
  end)
end)

describe("a literal in the select list", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
  end)
  after_each(function()
    conn:close(); engine:dispose(); h.cleanup()
  end)

  local function select_literal(v, ty)
    return conn:execute(ath.select(ath.literal(v, ty):label("v"))):scalar()
  end

  -- Every type of types_spec, with a value, and the Lua value it comes back as.
  local cases = {
    { "Integer", ath.Integer, 42, 42 },
    { "SmallInteger", ath.SmallInteger, 7, 7 },
    { "BigInteger", ath.BigInteger, 5000000000, 5000000000 },
    { "Float", ath.Float, 2.5, 2.5 },
    { "Numeric", ath.Numeric(10, 2), "12.50", "12.50" },
    { "Boolean true", ath.Boolean, true, true },
    { "Boolean false", ath.Boolean, false, false },
    { "String", ath.String, "héllo", "héllo" },
    { "String(20)", ath.String(20), "abc", "abc" },
    { "Text", ath.Text, "long text", "long text" },
    { "LargeBinary", ath.LargeBinary, "a\0b", "a\0b" },
    { "Date", ath.Date, "2026-11-24", "2026-11-24" },
    { "DateTime", ath.DateTime, "2026-11-24T13:05:09", "2026-11-24 13:05:09" },
    { "Time", ath.Time, "13:05:09", "13:05:09" },
    { "JSON", ath.JSON, { a = { 1, 2 }, b = "x" }, { a = { 1, 2 }, b = "x" } },
    { "Uuid", ath.Uuid, "6f1c2c9e-4b1a-4f0e-9a57-1f0f3c2b7d11", "6f1c2c9e-4b1a-4f0e-9a57-1f0f3c2b7d11" },
    { "Enum", ath.Enum{ "small", "large", name = "size" }, "large", "large" },
  }
  for _, case in ipairs(cases) do
    local name, ty, v, want = case[1], case[2], case[3], case[4]
    it("gives a " .. name .. " back as the same Lua value on every backend", function()
      local got = select_literal(v, ty)
      assert.equal(type(want), type(got))
      assert.same(want, got)
      if math.type and type(want) == "number" then assert.equal(math.type(want), math.type(got)) end
    end)
  end

  it("gives an untyped integer, float and boolean back by their Lua type", function()
    assert.equal(1, select_literal(1))
    if math.type then assert.equal("integer", math.type(select_literal(1))) end
    assert.equal(0.25, select_literal(0.25))
    assert.equal(true, select_literal(true))
  end)

  it("gives a typed bindparam given at execution back as its type", function()
    local stmt = ath.select(ath.bindparam("n", nil, ath.Integer):label("n"))
    assert.equal(12, conn:execute(stmt, { n = 12 }):scalar())
    local f = ath.select(ath.bindparam("f", nil, ath.Float):label("f"))
    assert.equal(1.5, conn:execute(f, { f = 1.5 }):scalar())
  end)

  it("types a CASE whose results are literals", function()
    local stmt = ath.select(ath.case({ { ath.literal(1):lt(2), ath.literal(10) } }, { else_ = ath.literal(20) }):label("c"))
    assert.equal(10, conn:execute(stmt):scalar())
  end)
end)

describe("the SQL of typed literals", function()
  it("casts on PostgreSQL the literals whose value travels as text, and nothing elsewhere", function()
    local stmt = ath.select(ath.literal({ a = 1 }, ath.JSON):label("j"), ath.literal("1.5", ath.Numeric(10, 2)):label("n"),
      ath.literal("2026-01-01", ath.Date):label("d"), ath.bindparam("u", nil, ath.Uuid):label("u"),
      ath.literal(1):label("i"), ath.literal(2.5, ath.Float):label("f"), ath.literal("x", ath.String):label("s"))
    assert.equal("SELECT $1::JSONB AS j, $2::NUMERIC(10, 2) AS n, $3::DATE AS d, $4::UUID AS u, $5 AS i, $6 AS f, $7 AS s",
      (stmt:compile({ dialect = "postgresql" })))
    assert.equal("SELECT ? AS j, ? AS n, ? AS d, ? AS u, ? AS i, ? AS f, ? AS s", (stmt:compile({ dialect = "sqlite" })))
  end)

  it("keeps statements that differ only in a literal's type apart in the compiled cache", function()
    local a = ath.select(ath.literal("2026-01-01", ath.Date):label("v"))
    local b = ath.select(ath.literal("2026-01-01", ath.String):label("v"))
    assert.equal("SELECT $1::DATE AS v", (a:compile({ dialect = "postgresql" })))
    assert.equal("SELECT $1 AS v", (b:compile({ dialect = "postgresql" })))
  end)
end)

describe("a recursive CTE anchored on a literal", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
  end)
  after_each(function()
    conn:close(); engine:dispose(); h.cleanup()
  end)

  it("counts 1..5", function()
    local anchor = ath.select(ath.literal(1):label("n")):cte("counter", { recursive = true })
    local counter = anchor:union_all(ath.select(anchor.c.n + 1):where(anchor.c.n:lt(5)))
    local rows = conn:execute(ath.select(counter.c.n):order_by(counter.c.n)):all()
    local got = {}
    for i, r in ipairs(rows) do got[i] = r.n end
    assert.same({ 1, 2, 3, 4, 5 }, got)
  end)
end)

describe("a text value holding a zero byte", function()
  it("is refused naming the parameter, and the connection stays usable", function()
    local engine = h.engine()
    local conn = engine:connect()
    if h.is_postgresql then
      local err = h.catch(conn.execute, conn, ath.text("SELECT :v AS v"), { v = "a\0b" })
      assert.is_true(errors.is(err, "DataError"))
      assert.truthy(err.message:find("zero byte", 1, true))
    end
    assert.equal(1, conn:execute(ath.text("SELECT :v AS v"), { v = 1 }):scalar())
    conn:close(); engine:dispose(); h.cleanup()
  end)
end)
