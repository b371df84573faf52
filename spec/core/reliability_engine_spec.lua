-- Reliability of the Engine, its pool, URL and options (issue 22, items 3, 9, 10, 11, 14).
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local function count(conn, sql)
  return conn:exec_driver_sql(sql):scalar()
end

describe("A memory SQLite engine (sqlite://) #sqlite", function()
  it("never lets a checkout join the transaction another checkout has open", function()
    local e = ath.create_engine("sqlite://", { connect_args = { busy_timeout = 100 } })
    e:connect(function(c) c:exec_driver_sql("CREATE TABLE co (name TEXT)") end)
    -- A coroutine inside engine:begin yields with its transaction open.
    local co = coroutine.create(function()
      e:begin(function(conn)
        conn:exec_driver_sql("INSERT INTO co VALUES ('tx')")
        coroutine.yield()
        error({ rollback_please = true })
      end)
    end)
    assert.is_true((coroutine.resume(co)))
    -- Another checkout writes in autocommit mode meanwhile.
    local ok, err = pcall(e.connect, e, function(c)
      c:exec_driver_sql("INSERT INTO co VALUES ('auto')")
    end)
    -- the first checkout's write lock holds it off: no checkout joins another's transaction
    assert.is_false(ok)
    assert.is_true(errors.is(err, "OperationalError"), tostring(err))
    assert.truthy(err.message:find("database is locked", 1, true))
    local resumed, rb = coroutine.resume(co)  -- the first checkout rolls back
    assert.is_false(resumed)
    assert.is_true(rb.rollback_please)
    e:connect(function(c)
      assert.equal(0, count(c, "SELECT count(*) FROM co WHERE name = 'tx'"))
      -- an acknowledged write survives the other checkout's rollback
      assert.equal(0, count(c, "SELECT count(*) FROM co WHERE name = 'auto'"))
    end)
    assert.equal(0, e.pool:status().checked_out)
    e:dispose()
  end)

  it("raises OperationalError 'database is locked' after busy_timeout instead of hanging", function()
    local e = ath.create_engine("sqlite://", { connect_args = { busy_timeout = 50 } })
    local a = e:connect()
    a:exec_driver_sql("CREATE TABLE lk (x INTEGER)")
    local tx = a:begin()
    a:exec_driver_sql("INSERT INTO lk VALUES (1)")
    local b = e:connect()
    local err = h.catch(b.exec_driver_sql, b, "INSERT INTO lk VALUES (2)")
    assert.is_true(errors.is(err, "OperationalError"))
    assert.truthy(err.message:find("database is locked", 1, true))
    tx:rollback()
    assert.equal(0, count(b, "SELECT count(*) FROM lk"))
    b:exec_driver_sql("INSERT INTO lk VALUES (3)")   -- the lock is gone with the transaction
    assert.equal(1, count(a, "SELECT count(*) FROM lk"))
    a:close(); b:close()
    e:dispose()
  end)

  it("shows every checkout the same data", function()
    local e = ath.create_engine("sqlite://")
    local a, b = e:connect(), e:connect()
    a:exec_driver_sql("CREATE TABLE sh (x INTEGER)")
    a:exec_driver_sql("INSERT INTO sh VALUES (7)")
    assert.equal(7, count(b, "SELECT x FROM sh"))
    a:close(); b:close()
    e:dispose()
  end)

  it("keeps its data while no connection is checked out, even without pooling", function()
    local e = ath.create_engine("sqlite://", { poolclass = "null" })
    e:connect(function(c) c:exec_driver_sql("CREATE TABLE kp (x INTEGER)") end)
    e:connect(function(c) c:exec_driver_sql("INSERT INTO kp VALUES (1)") end)
    e:connect(function(c) assert.equal(1, count(c, "SELECT count(*) FROM kp")) end)
    e:dispose()
  end)

  it("does not share its data with another memory engine", function()
    local e1, e2 = ath.create_engine("sqlite://"), ath.create_engine("sqlite:///:memory:")
    e1:connect(function(c) c:exec_driver_sql("CREATE TABLE mine (x INTEGER)") end)
    e2:connect(function(c)
      assert.equal(0, count(c, "SELECT count(*) FROM sqlite_master WHERE name = 'mine'"))
    end)
    e1:dispose(); e2:dispose()
  end)

  it("drops its data on dispose()", function()
    local e = ath.create_engine("sqlite://")
    e:connect(function(c) c:exec_driver_sql("CREATE TABLE gone (x INTEGER)") end)
    e:dispose()
    e:connect(function(c)
      assert.equal(0, count(c, "SELECT count(*) FROM sqlite_master WHERE name = 'gone'"))
    end)
    e:dispose()
  end)
end)

describe("Engine:connect() on an exhausted pool", function()
  after_each(h.cleanup)

  it("collects connections abandoned to the garbage collector before waiting", function()
    local e = h.engine({ pool_size = 2, max_overflow = 1, pool_timeout = 0.5 })
    local function abandon(n)
      for _ = 1, n do
        local c = e:connect()              -- dropped without close()
        c:exec_driver_sql("SELECT 1")
      end
    end
    abandon(3)                             -- pool_size + max_overflow
    local conn = e:connect()               -- before the fix: PoolTimeoutError
    assert.equal(1, count(conn, "SELECT 1"))
    conn:close()
    -- The connect above needed one collected connection; the others go back
    -- at the next full cycle (LuaJIT may keep a dead stack slot alive until then).
    collectgarbage(); collectgarbage()
    assert.equal(0, e.pool:status().checked_out)
    e:dispose()
  end)

  it("still times out when every connection is really in use", function()
    local e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = 0.1 })
    local held = e:connect()
    local err = h.catch(e.connect, e)
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    held:close()
    e:dispose()
  end)
end)

describe("URL errors", function()
  local bad = {
    { "a port that is not a number", "postgresql://scott:s3cretpw@localhost:12x/db", "port" },
    { "a bad percent-escape", "postgresql://scott:s3cretpw@localhost/d%zzb", "percent-escape" },
    { "a bad percent-escape in the password", "postgresql://scott:s3cre%zztpw@localhost/db", "password" },
    { "an unterminated IPv6 host", "postgresql://scott:s3cretpw@[::1/db", "unterminated" },
    { "a query parameter without a name", "postgresql://scott:s3cretpw@localhost/db?=1", "without a name" },
    { "a password query parameter", "postgresql://scott@localhost/db?password=s3cretpw&=1", "without a name" },
    { "a password holding '@' and ':'", "postgresql://scott:s3c:r@tpw@localhost:99999/db", "out of range" },
  }
  for _, case in ipairs(bad) do
    it("never show the password for " .. case[1], function()
      local err = h.catch(ath.create_engine, case[2])
      assert.is_true(errors.is(err, "ArgumentError"))
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.is_nil(tostring(err):find("s3c", 1, true), tostring(err))
      assert.is_nil(tostring(err):find("tpw", 1, true), tostring(err))
      assert.truthy(tostring(err):find("scott", 1, true), tostring(err))
    end)
  end

  it("refuse a NUL byte or %00 in a SQLite path, naming the path, and create no file", function()
    local base = h.tmpname("_probe")
    for _, url in ipairs({ "sqlite:///" .. base .. "\0pct.db", "sqlite:///" .. base .. "%00pct.db" }) do
      local ok, err = pcall(function()
        local e = ath.create_engine(url)
        e:connect(function(c) c:exec_driver_sql("CREATE TABLE t (x INTEGER)") end)
      end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(err.message:find("database path", 1, true), err.message)
      assert.truthy(err.message:find("NUL", 1, true), err.message)
      assert.is_nil(io.open(base, "rb"))
    end
  end)

  local parts = {
    { "username", "postgresql://sc%00ott:pw@localhost/db" },
    { "password", "postgresql://scott:p%00w@localhost/db" },
    { "host", "postgresql://scott:pw@local%00host/db" },
    { "database name", "postgresql://scott:pw@localhost/d%00b" },
    { "username", "postgresql://sc\0ott:pw@localhost/db" },
  }
  for _, case in ipairs(parts) do
    it("refuse a NUL byte in the PostgreSQL " .. case[1], function()
      local err = h.catch(ath.create_engine, case[2])
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(err.message:find(case[1], 1, true), err.message)
      assert.truthy(err.message:find("NUL", 1, true), err.message)
    end)
  end
end)

describe("create_engine() numeric options", function()
  after_each(h.cleanup)
  local nan, inf = 0 / 0, math.huge
  local bad = {
    { "pool_size", 2 ^ 32 + 1 }, { "pool_size", -1 }, { "pool_size", 1.5 }, { "pool_size", nan },
    { "pool_size", inf },
    { "max_overflow", -2 }, { "max_overflow", 2 ^ 40 }, { "max_overflow", nan }, { "max_overflow", -inf },
    { "pool_timeout", nan }, { "pool_timeout", inf }, { "pool_timeout", -1 }, { "pool_timeout", -inf },
    { "pool_recycle", nan }, { "pool_recycle", inf }, { "pool_recycle", -2 },
    { "statement_cache_size", 2 ^ 32 + 1 }, { "statement_cache_size", -1 }, { "statement_cache_size", nan },
    { "statement_cache_size", 0.5 },
  }
  for _, case in ipairs(bad) do
    it("refuses " .. case[1] .. " = " .. tostring(case[2]) .. ", naming the option, the value and the range",
      function()
        local err = h.catch(ath.create_engine, h.url, { [case[1]] = case[2] })
        assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
        assert.truthy(err.message:find(case[1], 1, true), err.message)
        assert.truthy(err.message:find("between", 1, true) or err.message:find(">=", 1, true), err.message)
        assert.truthy(err.message:find(tostring(case[2]), 1, true) or err.message:find("nan", 1, true),
          err.message)
      end)
  end

  it("accepts the edges of every range", function()
    local e = h.engine({ pool_size = 0, max_overflow = -1, pool_timeout = 0, pool_recycle = -1,
                         statement_cache_size = 0 })
    e:connect(function(c) assert.equal(1, count(c, "SELECT 1")) end)
    e:dispose()
    e = h.engine({ pool_size = 1000, max_overflow = 1000, pool_timeout = 3600, pool_recycle = 0 })
    e:dispose()
  end)

  it("does not wrap a huge pool_size into a negative one", function()
    local ok, err = pcall(ath.create_engine, h.url, { pool_size = 2 ^ 32 + 1 })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
  end)
end)

describe("connect_args busy_timeout #sqlite", function()
  for _, v in ipairs({ 2 ^ 32 + 100, -1, 0 / 0, math.huge, 1.5 }) do
    it("refuses " .. tostring(v) .. " with an ArgumentError naming busy_timeout and the range", function()
      local ok, err = pcall(function()
        local e = ath.create_engine("sqlite://", { connect_args = { busy_timeout = v } })
        e:connect(function() end)
      end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(err.message:find("busy_timeout", 1, true), err.message)
      assert.truthy(err.message:find("2147483647", 1, true), err.message)
    end)
  end
end)

describe("Engine misuse", function()
  after_each(h.cleanup)
  local e
  before_each(function() e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = 0.2 }) end)
  after_each(function() e:dispose() end)

  local function check(fn, phrase)
    local err = h.catch(fn)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find(phrase, 1, true), err.message)
    assert.is_nil(err.message:find("attempt to", 1, true), err.message)
    assert.equal(0, e.pool:status().checked_out)
  end

  it("engine:connect(5) names the argument and checks nothing out", function()
    check(function() e:connect(5) end, "Engine:connect()")
    check(function() e:connect("x") end, "function")
    check(function() e:connect({}) end, "got table")
  end)

  it("engine:begin('x') names the argument and checks nothing out", function()
    check(function() e:begin("x") end, "Engine:begin()")
    check(function() e:begin(5) end, "got number")
    check(function() e:begin(true) end, "got boolean")
  end)

  it("a method called with '.' instead of ':' names the method", function()
    check(function() e.connect() end, "Engine:connect()")
    check(function() e.begin() end, "Engine:begin()")
    check(function() e.dispose() end, "Engine:dispose()")
    check(function() e.close() end, "Engine:close()")
    check(function() e.connect(5) end, "Engine:connect()")
    check(function() e.pool.status() end, "Pool:status()")
    check(function() e.begin({}) end, "Engine:begin()")
  end)

  it("wrap() refuses anything but a C engine handle", function()
    local wrap = require("athanor.engine").wrap
    check(function() wrap(5) end, "wrap() expects a C engine handle, got number")
    check(function() wrap(e) end, "got table")
    check(function() wrap(e._c, 5) end, "options must be a table")
  end)

  it("a closed engine raises an athanor error on every method", function()
    local e2 = h.engine()
    e2:close()
    for _, name in ipairs({ "connect", "begin", "dispose" }) do
      local err = h.catch(e2[name], e2)
      assert.is_true(errors.is(err, "ResourceClosedError"), tostring(err))
      assert.truthy(err.message:find("closed", 1, true))
    end
    e2:close()                              -- a second close is a no-op
  end)

  it("a callable table is accepted as the function", function()
    local fn = setmetatable({}, { __call = function(_, c) return count(c, "SELECT 2") end })
    assert.equal(2, e:connect(fn))
    assert.equal(2, e:begin(fn))
  end)
end)
