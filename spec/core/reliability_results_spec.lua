-- Issue 22, the binding and Result items: typed values bound without a
-- dangling pointer (item 1), row keys that are not column positions (item 6),
-- Results that outlive their Connection (item 7), a PostgreSQL stream and
-- another statement on the same Connection (item 8), and LuaJIT integers
-- beyond 2^53 (item 16). Item 1 runs under ASan in `make asan`.
local ath = require("athanor")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")

local ROWS = 1000                       -- more than one batch of rows (Result reads 64 at a time)

-- Run fn with a collector that works at (nearly) every allocation, so a
-- string freed while C still points at it is freed and its memory reused
-- before the statement steps. Restores the defaults.
local function with_busy_collector(fn)
  collectgarbage("collect")
  local restore
  if _VERSION == "Lua 5.4" then
    collectgarbage("generational", 1, 100)          -- a minor collection every 1% of growth
    restore = function() collectgarbage("incremental") end
  else
    local pause = collectgarbage("setpause", 0)
    local stepmul = collectgarbage("setstepmul", 1000)
    restore = function() collectgarbage("setpause", pause); collectgarbage("setstepmul", stepmul) end
  end
  local ok, err = pcall(fn)
  restore()
  if not ok then error(err, 0) end
end

local function fill(conn, table_name)
  h.drop(conn, table_name)
  conn:exec_driver_sql("CREATE TABLE " .. table_name .. " (id INTEGER PRIMARY KEY, label TEXT)")
  local rows = {}
  for i = 1, ROWS do rows[i] = { id = i, label = "r" .. i } end
  conn:execute(ath.text("INSERT INTO " .. table_name .. " (id, label) VALUES (:id, :label)"), rows)
end

describe("binding a typed value { _ath_type = ..., payload }", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "rr_vals")
    conn:exec_driver_sql("CREATE TABLE rr_vals (id INTEGER PRIMARY KEY, v NUMERIC, t TEXT)")
  end)
  after_each(function() h.drop(conn, "rr_vals"); conn:close(); engine:dispose(); h.cleanup() end)

  local insert = ath.text("INSERT INTO rr_vals (id, v) VALUES (:id, :v)")
  local function count() return conn:execute(ath.text("SELECT count(*) FROM rr_vals")):scalar() end

  it("stores numeric values whose payload is a Lua number exactly, under a busy collector", function()
    -- twenty typed values per statement: converting one must not free what
    -- an earlier one points at (each used to be a string popped off the
    -- stack). TEXT columns make SQLite memcpy the bound bytes, which ASan
    -- checks even in an uninstrumented libsqlite3.
    local names, marks = {}, {}
    for k = 1, 20 do names[k] = "c" .. k; marks[k] = ":c" .. k end
    h.drop(conn, "rr_wide")
    conn:exec_driver_sql("CREATE TABLE rr_wide (id INTEGER PRIMARY KEY, " .. table.concat(names, " TEXT, ") .. " TEXT)")
    local insert_wide = ath.text("INSERT INTO rr_wide (" .. table.concat(names, ", ") .. ", id) VALUES ("
                                 .. table.concat(marks, ", ") .. ", :id)")
    local function want(i, k) return (k % 2 == 0) and (i * 1000 + k) or (i * 1000 + k + 0.5) end
    local n = 1000
    local tx = conn:begin()                         -- one commit: the binding is what is tested
    with_busy_collector(function()
      for i = 1, n do
        local params = { id = i }
        for k = 1, 20 do params["c" .. k] = { _ath_type = "numeric", want(i, k) } end
        conn:execute(insert_wide, params)
      end
    end)
    tx:commit()
    local wrong, seen = 0, 0
    for row in conn:execute(ath.text("SELECT * FROM rr_wide ORDER BY id")):iter() do
      seen = seen + 1
      for k = 1, 20 do
        if tonumber(row["c" .. k]) ~= want(row.id, k) then wrong = wrong + 1 end
      end
    end
    h.drop(conn, "rr_wide")
    assert.equal(0, wrong)
    assert.equal(n, seen)
  end)

  it("stores many string payloads of every typed kind intact under a busy collector", function()
    local tx = conn:begin()
    with_busy_collector(function()
      for i = 1, 2000 do
        local text = string.rep("x", i % 40) .. i
        conn:execute(ath.text("INSERT INTO rr_vals (id, t) VALUES (:id, :t)"),
          { id = i, t = { _ath_type = (i % 2 == 0) and "datetime" or "numeric", text } })
      end
    end)
    tx:commit()
    local wrong = 0
    for row in conn:execute(ath.text("SELECT id, t FROM rr_vals ORDER BY id")):iter() do
      if row.t ~= string.rep("x", row.id % 40) .. row.id then wrong = wrong + 1 end
    end
    assert.equal(0, wrong)
  end)

  for _, kind in ipairs({ "blob", "json", "datetime" }) do
    it("raises ArgumentError for a '" .. kind .. "' value whose payload is a number, and writes nothing", function()
      local err = h.catch(conn.execute, conn, insert, { id = 1, v = { _ath_type = kind, 12345 } })
      assert.is_true(errors.is(err, "ArgumentError"))
      assert.matches("parameter 'v'", err.message, 1, true)
      assert.matches("needs a string in [1], got number", err.message, 1, true)
      assert.equal(0, count())
    end)
  end

  it("raises ArgumentError for a typed value whose _ath_type is a number, and writes nothing", function()
    with_busy_collector(function()
      for _ = 1, 50 do
        local err = h.catch(conn.execute, conn, insert, { id = 1, v = { _ath_type = 5, "12" } })
        assert.is_true(errors.is(err, "ArgumentError"))
        assert.matches("_ath_type must be a string, got number", err.message, 1, true)
      end
    end)
    assert.equal(0, count())
  end)

  it("raises ArgumentError for a numeric value without a payload", function()
    local err = h.catch(conn.execute, conn, insert, { id = 1, v = { _ath_type = "numeric" } })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("needs a string or a number in [1], got nil", err.message, 1, true)
    assert.equal(0, count())
  end)
end)

describe("Row keys that are not a column position", function()
  local engine, conn
  before_each(function() engine = h.engine(); conn = engine:connect() end)
  after_each(function() conn:close(); engine:dispose(); h.cleanup() end)

  it("give nil: row[1.5], row[2^32+1], row[-(2^32-1)], row[0], row[ncols+1], row[0/0], row[math.huge]", function()
    local row = conn:execute(ath.text("SELECT 10 AS a, 20 AS b")):one()
    assert.equal(10, row[1]); assert.equal(20, row[2]); assert.equal(10, row[1.0])
    for _, key in ipairs({ 1.5, 2 ^ 32 + 1, 2 ^ 32 + 2, -(2 ^ 32 - 1), 0, 3, -1, 2 ^ 63, -2 ^ 63, math.huge, -math.huge }) do
      assert.is_nil(row[key], "row[" .. tostring(key) .. "]")
    end
    assert.is_nil(row[0 / 0])
    if math.maxinteger then
      assert.is_nil(row[math.maxinteger]); assert.is_nil(row[math.mininteger])
    end
  end)
end)

describe("a Result whose Connection was closed", function()
  local engine, conn
  local sel = ath.text("SELECT id, label FROM rr_rows ORDER BY id")
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    fill(conn, "rr_rows")
  end)
  after_each(function()
    local c = engine:connect()
    h.drop(c, "rr_rows"); c:close(); engine:dispose(); h.cleanup()
  end)

  local function assert_closed(err)
    assert.is_true(errors.is(err, "ResourceClosedError"), tostring(err))
    assert.matches("Connection was closed", err.message, 1, true)
  end

  it("raises ResourceClosedError on the next iteration step, though rows were already batched", function()
    local c = engine:connect()
    local r = c:execute(sel)
    local it = r:iter()
    assert.equal(1, it(r).id)
    c:close()
    assert_closed(h.catch(it, r))
  end)

  it("raises ResourceClosedError from all()", function()
    local c = engine:connect()
    local r = c:execute(sel)
    c:close()
    assert_closed(h.catch(r.all, r))
  end)

  it("raises ResourceClosedError from fetchone() after the connection was checked out again", function()
    local c = engine:connect()
    local r = c:execute(sel)
    c:close()
    local again = engine:connect()
    assert.equal(1, again:execute(ath.text("SELECT 1")):scalar())
    assert_closed(h.catch(r.fetchone, r))
    again:close()
  end)

  it("raises ResourceClosedError from fetchmany(), first(), one() and scalar() and from a mappings() view", function()
    for _, read in ipairs({ function(r) return r:fetchmany(5) end, function(r) return r:first() end,
                            function(r) return r:one() end, function(r) return r:scalar() end,
                            function(r) return r:mappings():all() end }) do
      local c = engine:connect()
      local r = c:execute(sel)
      c:close()
      assert_closed(h.catch(read, r))
    end
  end)

  it("raises ResourceClosedError after invalidate() too", function()
    local c = engine:connect()
    local r = c:execute(sel)
    c:invalidate()
    assert_closed(h.catch(r.all, r))
  end)

  it("keeps delivering its rows when every one had been fetched before the close", function()
    local c = engine:connect()
    local r = c:execute(ath.text("SELECT id FROM rr_rows WHERE id <= 10 ORDER BY id"))
    local it = r:iter()
    assert.equal(1, it(r).id)
    c:close()
    local n = 1
    for row in it, r do n = n + 1; assert.equal(n, row.id) end
    assert.equal(10, n)
  end)

  it("keeps its already-returned rows readable", function()
    local c = engine:connect()
    local rows = c:execute(sel):all()
    c:close()
    assert.equal(ROWS, #rows)
    assert.equal("r1000", rows[ROWS].label)
  end)
end)

describe("a Result after result:close()", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    fill(conn, "rr_rows")
  end)
  after_each(function() h.drop(conn, "rr_rows"); conn:close(); engine:dispose(); h.cleanup() end)

  local sel = ath.text("SELECT id FROM rr_rows ORDER BY id")

  it("raises ResourceClosedError on the next iteration step, though rows were already batched", function()
    local r = conn:execute(sel)
    local it = r:iter()
    assert.equal(1, it(r).id)
    r:close()
    local err = h.catch(it, r)
    assert.is_true(errors.is(err, "ResourceClosedError"))
    assert.matches("closed", err.message, 1, true)
  end)

  it("closes its mappings() and scalars() views too", function()
    local r = conn:execute(sel)
    local m = r:scalars()
    assert.equal(1, m:fetchone())
    r:close()
    assert.is_true(errors.is(h.catch(m.fetchone, m), "ResourceClosedError"))
    assert.is_true(errors.is(h.catch(m.all, m), "ResourceClosedError"))
  end)

  it("a view and its result read one stream of rows: none is skipped or repeated", function()
    local r = conn:execute(sel)
    local it = r:iter()
    assert.equal(1, it(r).id)
    local ids = r:scalars():fetchmany(3)
    assert.same({ 2, 3, 4 }, ids)
    assert.equal(5, r:fetchone().id)
    assert.equal(ROWS - 5, #r:all())
  end)
end)

describe("a streaming Result and another statement on the same Connection #postgresql", function()
  local engine, conn
  local sel = ath.text("SELECT id FROM rr_rows ORDER BY id")
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    fill(conn, "rr_rows")
  end)
  after_each(function()
    local c = engine:connect()
    h.drop(c, "rr_rows"); c:close(); conn:close(); engine:dispose()
  end)

  local function count(c)
    return c:execute(ath.text("SELECT count(*) FROM rr_rows")):scalar()
  end

  local function assert_busy(err)
    assert.is_true(errors.is(err, "InvalidRequestError"), tostring(err))
    assert.matches("open streaming result", err.message, 1, true)
    assert.matches("SELECT id FROM rr_rows", err.message, 1, true)
  end

  it("raises InvalidRequestError for a statement run while the stream is open, writes nothing, "
     .. "and the stream still delivers every row", function()
    local r = conn:execute(sel, nil, { stream = true })
    local it = r:iter()
    assert.equal(1, it(r).id)
    assert_busy(h.catch(conn.execute, conn, ath.text("INSERT INTO rr_rows (id, label) VALUES (5000, 'x')")))
    local n = 1
    for row in it, r do n = n + 1; assert.equal(n, row.id) end
    assert.equal(ROWS, n)
    assert.equal(ROWS, count(conn))                 -- the refused INSERT wrote nothing
  end)

  it("raises InvalidRequestError for a second stream, and the first still delivers every row", function()
    local r = conn:execute(sel, nil, { stream = true })
    assert.equal(1, r:fetchone().id)
    assert_busy(h.catch(conn.execute, conn, sel, nil, { stream = true }))
    assert_busy(h.catch(conn.exec_driver_sql, conn, "SELECT 1"))
    assert_busy(h.catch(conn.begin, conn))
    assert.equal(ROWS - 1, #r:all())
    local second = 0
    for _ in conn:execute(sel, nil, { stream = true }):iter() do second = second + 1 end
    assert.equal(ROWS, second)
  end)

  it("frees the connection when the stream is closed early", function()
    local r = conn:execute(sel, nil, { stream = true })
    assert.equal(1, r:fetchone().id)
    r:close()
    assert.equal(ROWS, count(conn))
  end)

  it("frees the connection when the stream ends without being read to the end by first()", function()
    assert.equal(1, conn:execute(sel, nil, { stream = true }):first().id)
    assert.equal(ROWS, count(conn))
  end)

  it("frees the connection once an abandoned stream can no longer be read", function()
    local function first_id_then_abandon()            -- like a loop left with break
      local r = conn:execute(sel, nil, { stream = true })
      return r:fetchone().id
    end
    for _ = 1, 3 do
      assert.equal(1, first_id_then_abandon())
      assert.equal(ROWS, count(conn))
    end
  end)

  it("commit() raises InvalidRequestError while the stream is open, and the transaction stays open", function()
    local tx = conn:begin()
    conn:execute(ath.text("INSERT INTO rr_rows (id, label) VALUES (5001, 'y')"))
    local r = conn:execute(sel, nil, { stream = true })
    assert.equal(1, r:fetchone().id)
    assert_busy(h.catch(tx.commit, tx))
    assert.is_true(tx.is_active)
    assert.equal(ROWS, #r:all())                    -- the stream's rows include the pending insert
    tx:commit()
    assert.equal(ROWS + 1, count(conn))
  end)

  it("rollback() ends the stream, which then raises ResourceClosedError", function()
    local tx = conn:begin()
    local r = conn:execute(sel, nil, { stream = true })
    assert.equal(1, r:fetchone().id)
    tx:rollback()
    local err = h.catch(r.fetchone, r)
    assert.is_true(errors.is(err, "ResourceClosedError"))
    assert.matches("rolled back", err.message, 1, true)
    assert.equal(ROWS, count(conn))
  end)

  it("raises ResourceClosedError when the stream is read after its Connection was closed", function()
    local c = engine:connect()
    local r = c:execute(sel, nil, { stream = true })
    assert.equal(1, r:fetchone().id)
    c:close()
    assert.is_true(errors.is(h.catch(r.all, r), "ResourceClosedError"))
  end)
end)

describe("a streaming Result and another statement on the same Connection #sqlite", function()
  local engine, conn
  local sel = ath.text("SELECT id FROM rr_rows ORDER BY id")
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    fill(conn, "rr_rows")
  end)
  after_each(function() h.drop(conn, "rr_rows"); conn:close(); engine:dispose(); h.cleanup() end)

  it("interleave: a statement run while the stream is open works and the stream delivers every row", function()
    local n = 0
    for row in conn:execute(sel, nil, { stream = true }):iter() do
      n = n + 1
      assert.equal(n, row.id)
      if n % 100 == 1 then
        assert.equal(ROWS, conn:execute(ath.text("SELECT count(*) FROM rr_rows")):scalar())
      end
    end
    assert.equal(ROWS, n)
  end)

  it("interleave: a second stream opened inside the first runs fully, and so does the first", function()
    local outer, inner = 0, 0
    for _ in conn:execute(sel, nil, { stream = true }):iter() do
      outer = outer + 1
      if outer == 2 then
        for _ in conn:execute(sel, nil, { stream = true }):iter() do inner = inner + 1 end
      end
    end
    assert.equal(ROWS, outer)
    assert.equal(ROWS, inner)
  end)
end)

describe("integers beyond 2^53", function()
  local engine, conn
  before_each(function() engine = h.engine(); conn = engine:connect() end)
  after_each(function() conn:close(); engine:dispose(); h.cleanup() end)

  local big = ath.text("SELECT 9007199254740993 AS v")

  if core.has_integers then
    it("come back exact on Lua 5.3+", function()
      local v = conn:execute(big):scalar()
      assert.equal("integer", math.type(v))
      assert.equal("9007199254740993", string.format("%d", v))
    end)
  else
    it("raise DataError on LuaJIT naming the column and BigInteger{ as_string = true }", function()
      for _, sql in ipairs({ "SELECT 9007199254740993 AS v", "SELECT -9007199254740993 AS v" }) do
        local err = h.catch(function() return conn:execute(ath.text(sql)):scalar() end)
        assert.is_true(errors.is(err, "DataError"), tostring(err))
        assert.matches("column 'v'", err.message, 1, true)
        assert.matches("BigInteger{ as_string = true }", err.message, 1, true)
      end
    end)

    it("up to 2^53 still come back as numbers on LuaJIT", function()
      assert.equal(2 ^ 53, conn:execute(ath.text("SELECT 9007199254740992 AS v")):scalar())
      assert.equal(-2 ^ 53, conn:execute(ath.text("SELECT -9007199254740992 AS v")):scalar())
    end)
  end

  it("come back as the exact decimal string through BigInteger{ as_string = true }", function()
    local col = ath.literal_column("v", ath.BigInteger{ as_string = true })
    for _, digits in ipairs({ "9007199254740993", "-9007199254740993", "9223372036854775807", "42" }) do
      local v = conn:execute(ath.text("SELECT " .. digits .. " AS v"):columns(col)):scalar()
      assert.equal(digits, v)
    end
  end)
end)
