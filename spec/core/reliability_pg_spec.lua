-- Reliability of the statement path at the driver's edge (issue 22, items 2
-- and 15): SQL text that a C string would cut short, statements the wire
-- protocol cannot carry, and the error a terminated backend leaves behind.
-- Each refusal happens before anything reaches the database, so the tables
-- are unchanged and the connection stays usable.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

-- A two-row table "nt" (id 1 and 2), made fresh for every test.
local md = ath.MetaData()
local nt = ath.Table("nt", md, ath.Column("id", ath.Integer, { primary_key = true }))

local function rows(conn)
  return conn:exec_driver_sql("SELECT count(*) FROM nt"):scalar()
end

-- The error raised by fn(...), with its kind and a phrase of its message checked.
local function refused(kind, phrase, fn, ...)
  local err = h.catch(fn, ...)
  assert.is_true(errors.is(err, kind), "expected " .. kind .. ", got " .. tostring(err))
  assert.truthy(tostring(err.message):find(phrase, 1, true),
    "message '" .. tostring(err.message) .. "' lacks '" .. phrase .. "'")
  return err
end

describe("SQL text containing a NUL byte", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)
  before_each(function()
    conn:execute(ath.delete(nt))
    conn:execute(ath.insert(nt):values({ { id = 1 }, { id = 2 } }))
  end)

  it("is refused by exec_driver_sql with ArgumentError before anything runs", function()
    refused("ArgumentError", "NUL", conn.exec_driver_sql, conn, "DELETE FROM nt\0 WHERE id = 1")
    assert.equal(2, rows(conn))
  end)

  it("is refused through ath.text, so a second statement after the NUL never runs", function()
    refused("ArgumentError", "NUL", conn.execute, conn, ath.text("DELETE FROM nt\0 WHERE id = :id"), { id = 1 })
    refused("ArgumentError", "NUL", conn.execute, conn, ath.text("SELECT 1\0; DELETE FROM nt"))
    assert.equal(2, rows(conn))
  end)

  it("is refused by executemany", function()
    refused("ArgumentError", "NUL", conn.exec_driver_sql, conn,
      "DELETE FROM nt\0 WHERE id = " .. h.ph(1), { { 1 }, { 2 } })
    assert.equal(2, rows(conn))
  end)

  it("names the offset of the NUL byte", function()
    refused("ArgumentError", "offset 14", conn.exec_driver_sql, conn, "DELETE FROM nt\0 WHERE id = 1")
  end)

  it("is refused when it comes from a table name holding a NUL (never truncated to another table)", function()
    local evil = ath.Table("nt\0junk", ath.MetaData(), ath.Column("id", ath.Integer))
    refused("ArgumentError", "NUL", conn.execute, conn, ath.delete(evil):where(evil.c.id:eq(1)))
    refused("ArgumentError", "NUL", conn.execute, conn, ath.delete(evil))
    refused("ArgumentError", "NUL", conn.execute, conn, ath.select(evil))
    assert.equal(2, rows(conn))
  end)

  it("is refused when it comes from a column name holding a NUL", function()
    local evil = ath.Table("nt", ath.MetaData(), ath.Column("id\0x", ath.Integer))
    refused("ArgumentError", "NUL", conn.execute, conn, ath.delete(evil):where(evil.c["id\0x"]:eq(1)))
    refused("ArgumentError", "NUL", conn.execute, conn, ath.update(evil):values({ ["id\0x"] = 5 }))
    assert.equal(2, rows(conn))
    assert.equal(3, conn:exec_driver_sql("SELECT sum(id) FROM nt"):scalar())
  end)

  it("leaves the connection usable", function()
    h.catch(conn.exec_driver_sql, conn, "SELECT 1\0")
    assert.is_false(conn:invalidated())
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)
end)

describe("An empty statement", function()
  local engine, conn
  before_each(function() engine = h.engine(); conn = engine:connect() end)
  after_each(function() conn:close(); engine:dispose(); h.cleanup() end)

  local empties = { "", "   \n\t", "-- only a comment\n", "/* a comment */", ";", " ; ;" }
  if h.is_postgresql then empties[#empties + 1] = "/* a /* nested */ comment */" end   -- SQLite's do not nest
  for _, sql in ipairs(empties) do
    it(("raises ArgumentError 'empty SQL statement' for %q"):format(sql), function()
      refused("ArgumentError", "empty SQL statement", conn.exec_driver_sql, conn, sql)
      refused("ArgumentError", "empty SQL statement", conn.execute, conn, ath.text(sql))
    end)
  end

  it("leaves the connection usable and not invalidated", function()
    h.catch(conn.exec_driver_sql, conn, "")
    assert.is_false(conn:invalidated())
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)

  it("is told apart from a statement that merely starts with a comment", function()
    assert.equal(7, conn:exec_driver_sql("-- a comment\nSELECT 7"):scalar())
    assert.equal(8, conn:exec_driver_sql("/* c */ SELECT 8"):scalar())
  end)
end)

describe("More parameters than PostgreSQL's protocol carries #postgresql", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)

  local function placeholders(n)
    local p = {}
    for i = 1, n do p[i] = "$" .. i end
    return table.concat(p, ",")
  end
  local function values(n)
    local v = {}
    for i = 1, n do v[i] = i end
    return v
  end

  it("are refused before sending with OperationalError naming the limit of 65535", function()
    local err = refused("OperationalError", "65535", conn.exec_driver_sql, conn,
      "SELECT count(*) FROM nt WHERE id IN (" .. placeholders(70000) .. ")", values(70000))
    assert.truthy(err.message:find("$70000", 1, true))
    assert.is_nil(err.connection_invalidated)
    assert.is_false(conn:invalidated())
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)

  it("are refused when the expression language renders them (a long in_ list)", function()
    refused("OperationalError", "65535", conn.execute, conn, ath.select(nt.c.id):where(nt.c.id:in_(values(65536))))
    assert.is_false(conn:invalidated())
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
  end)

  it("work past libpq's 7498-parameter description limit, with parameter types and columns known", function()
    -- libpq cannot read a ParameterDescription of more than 7498 types
    local n = 7499
    local p, v = {}, {}
    for i = 1, n - 1 do p[i] = "$" .. i .. "::int"; v[i] = i end
    p[n] = "$" .. n; v[n] = { _ath_type = "blob", "\0\1\255" }
    local sql = "SELECT (SELECT count(*) FROM (VALUES (" .. table.concat(p, "),(", 1, n - 1) .. ")) AS x(i)) AS n, "
      .. "$" .. n .. "::bytea AS blob, octet_length(" .. p[n] .. "::bytea) AS len"
    local row = conn:exec_driver_sql(sql, v):one()
    assert.equal(n - 1, row.n); assert.equal("\0\1\255", row.blob); assert.equal(3, row.len)
    assert.same({ "n", "blob", "len" }, conn:exec_driver_sql(sql, v):keys())   -- the cached statement, again
    local streamed = conn:exec_driver_sql(sql, v, { stream = true }):all()
    assert.equal("\0\1\255", streamed[1].blob)
  end)

  it("accept exactly 65535", function()
    conn:execute(ath.insert(nt):values({ id = 1 }))
    local n = conn:exec_driver_sql("SELECT count(*) FROM nt WHERE id IN (" .. placeholders(65535) .. ")", values(65535))
    assert.equal(1, n:scalar())
    conn:execute(ath.delete(nt))
  end)

  it("are counted from placeholders only, not from $n inside strings, quoted names or comments", function()
    local q = "SELECT $1::int AS a, '$70000' AS b, $q$ $80000 $q$ AS c, E'\\' $75000' AS d, 1 AS \"$90000\" -- $99999\n"
      .. "/* $95000 /* nested */ $96000 */"
    local r = conn:exec_driver_sql(q, { 5 }):one()
    assert.equal(5, r.a); assert.equal("$70000", r.b); assert.equal(" $80000 ", r.c)
    assert.equal("' $75000", r.d); assert.equal(1, r["$90000"])
  end)
end)

describe("A transaction command while a streamed result is open #postgresql", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)

  it("still rolls back, and the connection stays usable", function()
    conn:execute(ath.delete(nt))
    local tx = conn:begin()
    conn:execute(ath.insert(nt):values({ id = 1 }))
    local res = conn:execute(ath.text("SELECT generate_series(1, 100000) AS g"), nil, { stream = true })
    local step, state = res:iter()
    assert.equal(1, step(state).g)
    tx:rollback()
    assert.equal(0, rows(conn))
    assert.is_false(conn:invalidated())
  end)
end)

describe("COPY through exec_driver_sql #postgresql", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)

  for _, sql in ipairs({ "COPY nt FROM STDIN", "COPY nt TO STDOUT" }) do
    it("raises ProgrammingError for " .. sql .. " and leaves the connection usable", function()
      conn:execute(ath.delete(nt))
      refused("ProgrammingError", "is not supported", conn.exec_driver_sql, conn, sql)
      assert.equal(0, rows(conn))
      assert.is_false(conn:invalidated())
      conn:begin(); conn:rollback()
    end)
  end
end)

describe("More parameters than SQLite allows #sqlite", function()
  -- SQLite's own limit (SQLITE_MAX_VARIABLE_NUMBER, 32766 upstream and
  -- 250000 in Debian's build) is read from the library's compile options.
  local function limit(conn)
    for row in conn:exec_driver_sql("PRAGMA compile_options"):iter() do
      local n = tostring(row[1]):match("^MAX_VARIABLE_NUMBER=(%d+)$")
      if n then return tonumber(n) end
    end
    return 32766
  end

  it("are refused with a DBAPIError that names the problem and leaves the connection usable", function()
    local engine = h.engine()
    local conn = engine:connect()
    local n = limit(conn) + 1
    local p, v = {}, {}
    for i = 1, n do p[i] = "?"; v[i] = i end
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT 1 WHERE 1 IN (" .. table.concat(p, ",") .. ")", v)
    assert.is_true(errors.is(err, "DBAPIError"))
    assert.truthy(err.message:find("too many SQL variables", 1, true))
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())
    conn:close(); engine:dispose(); h.cleanup()
  end)
end)

describe("A backend terminated by the server #postgresql", function()
  local admin
  setup(function() admin = ath.create_engine(h.url, { poolclass = "null" }) end)
  teardown(function() admin:dispose() end)

  -- A connection of engine whose backend pg_terminate_backend has ended.
  local function terminated(engine, prepare)
    local conn = engine:connect()
    if prepare then prepare(conn) end
    local pid = conn:exec_driver_sql("SELECT pg_backend_pid()"):scalar()
    admin:connect(function(a)
      assert.is_true(a:exec_driver_sql("SELECT pg_terminate_backend($1)", { pid }):scalar())
      -- wait until the backend is gone, so its goodbye is on the socket
      for _ = 1, 200 do
        if a:exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", { pid }):scalar() == 0 then break end
        a:exec_driver_sql("SELECT pg_sleep(0.01)")
      end
    end)
    return conn
  end

  local function assert_57P01(err, conn)
    assert.is_true(errors.is(err, "OperationalError"), tostring(err))
    assert.equal("57P01", err.code)
    assert.is_true(err.connection_invalidated)
    assert.truthy(err.message:find("terminating connection due to administrator command", 1, true), err.message)
    assert.is_true(conn:invalidated())
  end

  local cases = {
    { "a statement it had prepared before", function(c) return c:exec_driver_sql("SELECT 1") end },
    { "a statement it never prepared", function(c) return c:exec_driver_sql("SELECT 2 AS fresh") end },
    { "BEGIN", function(c) return c:begin() end },
    { "a streamed query", function(c) return c:execute(ath.text("SELECT generate_series(1, 10)"), nil, { stream = true }):all() end },
    { "an executemany in a transaction", function(c) return c:exec_driver_sql("SELECT $1::int", { { 1 }, { 2 } }) end,
      function(c) c:begin() end },
  }
  for _, case in ipairs(cases) do
    it("reports SQLSTATE 57P01 as an invalidating OperationalError on " .. case[1], function()
      local engine = ath.create_engine(h.url, { pool_size = 1, max_overflow = 0 })
      local conn = terminated(engine, case[3] or function(c) c:exec_driver_sql("SELECT 1") end)
      assert_57P01(h.catch(case[2], conn), conn)
      conn:close()
      assert.equal(0, engine.pool:status().idle)               -- dropped, not pooled
      assert.equal(3, engine:connect(function(c) return c:exec_driver_sql("SELECT 3"):scalar() end))
      engine:dispose()
    end)
  end

  it("reports 57P01 inside a transaction and recovers through the pool", function()
    local engine = ath.create_engine(h.url, { pool_size = 1, max_overflow = 0 })
    local conn = terminated(engine, function(c) c:begin() end)
    assert_57P01(h.catch(conn.exec_driver_sql, conn, "SELECT 1"), conn)
    conn:close()
    assert.equal(4, engine:connect(function(c) return c:exec_driver_sql("SELECT 4"):scalar() end))
    engine:dispose()
  end)

  it("reports the SQLSTATE of any session-ending error (idle-in-transaction timeout, 25P03)", function()
    local engine = ath.create_engine(h.url, { pool_size = 1, max_overflow = 0 })
    local conn = engine:connect()
    conn:exec_driver_sql("SET idle_in_transaction_session_timeout = '50ms'")
    conn:begin()
    conn:exec_driver_sql("SELECT 1")
    conn:exec_driver_sql("SELECT 1")     -- still fine: the timeout counts only idle time
    local t0 = os.clock()
    while os.clock() - t0 < 0.3 do end  -- idle (busy on our side) past the timeout
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT 1")
    assert.is_true(errors.is(err, "OperationalError"), tostring(err))
    assert.equal("25P03", err.code)
    assert.is_true(err.connection_invalidated)
    assert.is_true(conn:invalidated())
    conn:close()
    assert.equal(6, engine:connect(function(c) return c:exec_driver_sql("SELECT 6"):scalar() end))
    engine:dispose()
  end)

  it("gives a readable one-line message without libpq's LOCATION noise", function()
    local engine = ath.create_engine(h.url, { pool_size = 1 })
    local conn = terminated(engine)
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT 1")
    assert.is_nil(err.message:find("\n", 1, true))
    assert.is_nil(err.message:find("LOCATION", 1, true))
    assert.is_nil(err.message:find("57P01:", 1, true))
    conn:close(); engine:dispose()
  end)

  it("keeps SQLSTATE and message fields of ordinary errors unchanged", function()
    local engine = ath.create_engine(h.url, { pool_size = 1 })
    local conn = engine:connect()
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT 1/0")
    assert.is_true(errors.is(err, "DataError"))
    assert.equal("22012", err.code)
    assert.equal("division by zero", err.message)
    assert.is_false(conn:invalidated())
    conn:close(); engine:dispose()
  end)
end)
