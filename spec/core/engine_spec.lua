local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("ath.create_engine()", function()
  after_each(h.cleanup)

  it("opens an engine on the test URL and names its dialect", function()
    local e = h.engine()
    assert.equal(h.backend, e.dialect.name)
    e:dispose()
  end)

  it("rejects a URL without a scheme with an ArgumentError naming the URL", function()
    local err = h.catch(ath.create_engine, "not a url")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("not a url", 1, true))
  end)

  it("rejects a port that is not a number, naming the port", function()
    local err = h.catch(ath.create_engine, "postgresql://u@localhost:12x/db")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("12x", 1, true))
  end)

  it("rejects an unknown dialect", function()
    local err = h.catch(ath.create_engine, "oracle://scott@host/db")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("oracle", 1, true))
  end)

  it("rejects an unknown option by name", function()
    local err = h.catch(ath.create_engine, "sqlite://", { pool_sise = 3 })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("pool_sise", 1, true))
  end)

  it("rejects an option of the wrong type, naming what it expects", function()
    local err = h.catch(ath.create_engine, "sqlite://", { pool_size = "five" })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("pool_size", 1, true))
    assert.truthy(err.message:find("integer", 1, true))
  end)

  it("masks the password when the URL is shown", function()
    local e = ath.create_engine("postgresql://scott:tiger@localhost:5432/test")
    assert.equal("postgresql://scott:***@localhost:5432/test", tostring(e.url))
    assert.is_nil(tostring(e):find("tiger", 1, true))
    assert.equal("localhost", e.url.host)
    assert.equal(5432, e.url.port)
  end)
end)

describe("Engine:connect() #sqlite", function()
  it("raises OperationalError when the database directory is unreachable", function()
    local e = ath.create_engine("sqlite:////no/such/dir/athanor.db")
    local err = h.catch(e.connect, e)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.truthy(err.message:find("/no/such/dir/athanor.db", 1, true))
  end)

  it("shares one in-memory database between checkouts", function()
    local e = ath.create_engine("sqlite://")
    e:connect(function(c)
      c:exec_driver_sql("CREATE TABLE shared_t (x INTEGER)")
      c:exec_driver_sql("INSERT INTO shared_t VALUES (7)")
    end)
    local v = e:connect(function(c) return c:execute(ath.text("SELECT x FROM shared_t")):scalar() end)
    assert.equal(7, v)
  end)

  it("rejects a bad connect_args value, naming the option", function()
    local e = ath.create_engine("sqlite://", { connect_args = { journal_mode = "sideways" } })
    local err = h.catch(e.connect, e)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("journal_mode", 1, true))
  end)

  it("turns foreign keys on by default", function()
    local e = ath.create_engine("sqlite://")
    local c = e:connect()
    c:exec_driver_sql("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    c:exec_driver_sql("CREATE TABLE ch (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id))")
    local err = h.catch(c.exec_driver_sql, c, "INSERT INTO ch VALUES (1, 99)")
    assert.is_true(errors.is(err, "IntegrityError"))
    c:close()
  end)
end)

describe("Connection lifecycle", function()
  local engine
  before_each(function() engine = h.engine({ pool_size = 2, max_overflow = 0, pool_timeout = 0.2 }) end)
  after_each(function() engine:dispose(); h.cleanup() end)

  it("returns the connection to the pool on close, so the pool can be reused", function()
    for _ = 1, 10 do
      local c = engine:connect()
      assert.equal(1, c:execute(ath.text("SELECT 1")):scalar())
      c:close()
    end
    local st = engine.pool:status()
    assert.equal(0, st.checked_out)
    assert.is_true(st.idle >= 1)
  end)

  it("treats closing a connection twice as a no-op", function()
    local c = engine:connect()
    c:close()
    c:close()
    assert.is_true(c:closed())
    assert.equal(0, engine.pool:status().checked_out)
  end)

  it("raises ResourceClosedError (an InvalidRequestError) when a closed connection is used", function()
    local c = engine:connect()
    c:close()
    local err = h.catch(c.execute, c, ath.text("SELECT 1"))
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.truthy(err.message:find("closed", 1, true))
  end)

  it("closes the connection after engine:connect(fn) and returns fn's values", function()
    local a, b = engine:connect(function(c) return c:execute(ath.text("SELECT 2")):scalar(), "x" end)
    assert.equal(2, a)
    assert.equal("x", b)
    assert.equal(0, engine.pool:status().checked_out)
  end)

  it("closes the connection after engine:connect(fn) when fn raises", function()
    local err = h.catch(engine.connect, engine, function() error({ mine = true }) end)
    assert.is_true(err.mine)
    assert.equal(0, engine.pool:status().checked_out)
  end)

  it("gives dropped connections back to the pool when they are collected", function()
    for _ = 1, 2 do engine:connect() end
    collectgarbage(); collectgarbage()
    assert.equal(0, engine.pool:status().checked_out)
    local c = engine:connect()
    c:close()
  end)

  it("raises PoolTimeoutError when every connection is checked out", function()
    local a, b = engine:connect(), engine:connect()
    local err = h.catch(engine.connect, engine)
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    a:close(); b:close()
  end)

  if h.lua54 then
    it("closes a connection held in a <close> variable when the block ends", function()
      local chunk = assert(load([[
        local engine, ath = ...
        do
          local c <close> = engine:connect()
          c:execute(ath.text("SELECT 1"))
        end
        return engine.pool:status().checked_out
      ]]))
      assert.equal(0, chunk(engine, ath))
    end)
  end
end)
