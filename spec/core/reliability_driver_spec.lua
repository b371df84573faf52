-- Reliability of values at the driver's edge (issue 22): a JSON document is
-- decoded exactly once whichever layer decodes it (the PostgreSQL driver
-- decodes json/jsonb itself, SQLite hands back text the JSON type decodes),
-- and a statement with more parameters than SQLite allows is refused naming
-- the limit and the count given. (A value the driver cannot decode for lack
-- of memory raises instead of coming back empty: csrc/test/test_alloc_faults.c,
-- test_pg_driver.c and test_sqlite_driver.c cover that, since only C can make
-- an allocation fail.)
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")
local compat = require("athanor.compat")

local cjson = compat.cjson

-- The error raised by fn(...), with its kind and a phrase of its message checked.
local function refused(kind, phrase, fn, ...)
  local err = h.catch(fn, ...)
  assert.is_true(errors.is(err, kind), "expected " .. kind .. ", got " .. tostring(err))
  assert.truthy(tostring(err.message):find(phrase, 1, true),
    "message '" .. tostring(err.message) .. "' lacks '" .. phrase .. "'")
  return err
end

local md = ath.MetaData()
local docs = ath.Table("rd_docs", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("j", ath.JSON))

describe("A JSON column", function()
  if cjson == nil then
    pending("needs lua-cjson")
    return
  end
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)
  before_each(function() conn:execute(ath.delete(docs)) end)

  local function stored(value)
    conn:execute(ath.insert(docs):values({ id = 1, j = value }))
    return conn:execute(ath.select(docs.c.j):where(docs.c.id:eq(1))):scalar()
  end

  it("gives back a document that is a string as that string, whatever it looks like", function()
    for _, s in ipairs({ "abc", "[1]", "{\"a\": 1}", "", "null", "true", "12", "\"quoted\"", "h\xc3\xa9" }) do
      assert.equal(s, stored(s), ("the string %q"):format(s))
      conn:execute(ath.delete(docs))
    end
  end)

  it("gives back numbers, booleans, arrays and objects as they went in", function()
    for _, v in ipairs({ 1.5, -3, true, false, { 1 }, { "[1]", { "abc" } }, { a = { b = "[2]" } } }) do
      assert.same(v, stored(v))
      conn:execute(ath.delete(docs))
    end
  end)

  it("reads as the same value through insert ... returning, text():columns() and a streamed result", function()
    conn:execute(ath.insert(docs):values({ id = 1, j = "[1]" }))
    assert.equal("abc", conn:execute(ath.insert(docs):values({ id = 2, j = "abc" }):returning(docs.c.j)):scalar())
    local typed = ath.text("SELECT j FROM rd_docs WHERE id = 1"):columns(docs.c.j)
    assert.equal("[1]", conn:execute(typed):scalar())
    local streamed = conn:execute(ath.select(docs.c.j):order_by(docs.c.id), nil, { stream = true }):all()
    assert.equal("[1]", streamed[1].j); assert.equal("abc", streamed[2].j)
  end)

  it("stores ath.null as SQL NULL", function()
    assert.is_nil(stored(ath.null))
  end)
end)

describe("A JSON column read without its type #postgresql", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)

  it("is still decoded once by the driver", function()
    assert.is_not_nil(cjson, "lua-cjson is required (tools/deps.sh installs it)")
    conn:execute(ath.insert(docs):values({ { id = 1, j = "[1]" }, { id = 2, j = { 1 } } }))
    local r = conn:exec_driver_sql("SELECT j FROM rd_docs ORDER BY id"):all()
    assert.equal("[1]", r[1].j); assert.same({ 1 }, r[2].j)
  end)
end)

describe("More parameters than SQLite allows #sqlite", function()
  local conn, engine
  setup(function()
    engine = h.engine()
    conn = engine:connect()
    conn:exec_driver_sql("CREATE TABLE rd_nums (id INTEGER PRIMARY KEY)")
  end)
  teardown(function() conn:close(); engine:dispose(); h.cleanup() end)

  -- SQLite's limit (SQLITE_MAX_VARIABLE_NUMBER: 32766 upstream, 250000 in
  -- Debian's build), read from the library's compile options.
  local function limit()
    for row in conn:exec_driver_sql("PRAGMA compile_options"):iter() do
      local n = tostring(row[1]):match("^MAX_VARIABLE_NUMBER=(%d+)$")
      if n then return tonumber(n) end
    end
    return 32766
  end

  local function values(n)
    local v = {}
    for i = 1, n do v[i] = i end
    return v
  end

  it("are refused with OperationalError naming the limit and the count given, writing nothing", function()
    local n = limit() + 1
    local sql = "INSERT INTO rd_nums SELECT 1 WHERE 1 IN (" .. ("?,"):rep(n - 1) .. "?)"
    local err = refused("OperationalError", ("has %d parameter placeholders, but SQLite accepts at most %d")
      :format(n, n - 1), conn.exec_driver_sql, conn, sql, values(n))
    assert.truthy(err.message:find("too many SQL variables", 1, true))
    assert.equal(0, conn:exec_driver_sql("SELECT count(*) FROM rd_nums"):scalar())
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)

  it("are refused when the expression language renders them (a long in_ list)", function()
    local n = limit() + 1
    local nums = ath.Table("rd_nums", ath.MetaData(), ath.Column("id", ath.Integer, { primary_key = true }))
    refused("OperationalError", ("at most %d"):format(n - 1), conn.execute, conn,
      ath.delete(nums):where(nums.c.id:in_(values(n))))
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)

  it("name a numbered placeholder beyond the limit", function()
    local n = limit() + 1
    refused("OperationalError", ("placeholder ?%d is beyond SQLite's limit of %d"):format(n, n - 1),
      conn.exec_driver_sql, conn, ("SELECT ?1, ?%d"):format(n), values(1))
  end)
end)
