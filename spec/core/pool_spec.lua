local ath = require("athanor")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")

describe("Engine pool", function()
  after_each(h.cleanup)

  it("reports size, checked out, idle and overflow", function()
    local e = h.engine({ pool_size = 2, max_overflow = 1 })
    local a, b, c = e:connect(), e:connect(), e:connect()
    local st = e.pool:status()
    assert.equal(2, st.size)
    assert.equal(3, st.checked_out)
    assert.equal(1, st.overflow)
    a:close(); b:close(); c:close()
    st = e.pool:status()
    assert.equal(0, st.checked_out)
    assert.equal(2, st.idle)                -- the overflow connection was closed
    e:dispose()
  end)

  it("raises PoolTimeoutError after pool_timeout (not early, and well before twice it), naming size, overflow and wait", function()
    local cosocket = h.url:find("+cosocket", 1, true) ~= nil
    -- The cosocket pool fails at once: a long pool_timeout tells "at once"
    -- from "after the timeout" even when a loaded machine delays us.
    local e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = cosocket and 3 or 0.3 })
    local a = e:connect()
    local t0 = core.monotonic()
    local err = h.catch(e.connect, e)
    local waited = core.monotonic() - t0
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    assert.truthy(err.message:find("size 1 overflow 0", 1, true))
    if cosocket then
      -- The Lua-side driver's pool (engine/lua_pool.lua) cannot wait outside
      -- nginx: nothing else runs in this one thread. It fails at once instead
      -- (0.2 s was seen at once on a loaded machine; the timeout is 3 s).
      assert.truthy(err.message:find("cannot wait", 1, true), err.message)
      assert.is_true(waited < 1.5, "waited " .. waited)
    else
      assert.truthy(err.message:find("timeout 0.3", 1, true))
      -- The upper bound leaves room for a loaded machine (scheduling delays of
      -- 0.1 s were seen at load 10 on 2 cores) yet still catches a doubled wait.
      assert.is_true(waited >= 0.24 and waited <= 0.5, "waited " .. waited)
    end
    a:close()
    e:dispose()
  end)

  it("gets every dropped connection back through the garbage collector", function()
    local e = h.engine({ pool_size = 5, max_overflow = 5, pool_timeout = 5 })
    for i = 1, 10000 do
      local _ = e:connect()               -- dropped without close()
      if i % 4 == 0 then collectgarbage() end  -- at most 4 outstanding: within pool_size
    end
    collectgarbage(); collectgarbage()
    local st = e.pool:status()
    assert.equal(0, st.checked_out)
    assert.is_true(st.idle >= 1 and st.idle <= 5)
    assert.is_true(st.connects <= 10, "connections opened: " .. st.connects)
    e:dispose()
  end)

  it("does not leak connections when a Lua error happens between checkout and close", function()
    local e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = 1 })
    for _ = 1, 50 do
      pcall(e.connect, e, function(c) c:execute(ath.text("SELEC broken")) end)
    end
    assert.equal(0, e.pool:status().checked_out)
    e:dispose()
  end)

  it("closes an invalidated connection instead of pooling it", function()
    local e = h.engine({ pool_size = 2 })
    local c = e:connect()
    c:execute(ath.text("SELECT 1"))
    local before = e.pool:status().connects
    c:invalidate()
    assert.is_true(c:closed())
    local st = e.pool:status()
    assert.equal(0, st.checked_out)
    assert.equal(0, st.idle)
    e:connect(function(c2) c2:execute(ath.text("SELECT 1")) end)
    assert.equal(before + 1, e.pool:status().connects)
    e:dispose()
  end)

  it("dispose() closes idle connections and keeps the engine usable", function()
    local e = h.engine()
    e:connect(function(c) c:execute(ath.text("SELECT 1")) end)
    assert.equal(1, e.pool:status().idle)
    e:dispose()
    assert.equal(0, e.pool:status().idle)
    assert.equal(1, e:connect(function(c) return c:execute(ath.text("SELECT 1")):scalar() end))
    e:dispose()
  end)

  it("uses a null pool: a new connection for every checkout", function()
    local e = h.engine({ poolclass = "null" })
    for _ = 1, 3 do e:connect(function(c) c:execute(ath.text("SELECT 1")) end) end
    assert.equal(3, e.pool:status().connects)
    assert.equal(0, e.pool:status().idle)
    e:dispose()
  end)

  it("fires connect, checkout, checkin and invalidate events", function()
    local e = h.engine({ pool_size = 1 })
    local seen = {}
    for _, name in ipairs({ "connect", "checkout", "checkin", "invalidate" }) do
      ath.event.listen(e.pool, name, function() seen[#seen + 1] = name end)
    end
    e:connect(function() end)
    e:connect(function() end)
    e:connect():invalidate()
    assert.same({ "connect", "checkout", "checkin", "checkout", "checkin", "checkout", "invalidate" }, seen)
    e:dispose()
  end)

  it("rejects an unknown event name", function()
    local e = h.engine()
    local err = h.catch(ath.event.listen, e.pool, "chekout", function() end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("chekout", 1, true))
  end)

  it("shares one pool between engines opened with the same shared name", function()
    local url = h.is_sqlite and ("sqlite:///" .. h.tmpname(".db")) or h.url
    local a = ath.create_engine(url, { shared = "spec-pool" })
    local b = ath.create_engine(url, { shared = "spec-pool" })
    local c = a:connect()
    assert.equal(1, b.pool:status().checked_out)
    c:close()
    local err = h.catch(ath.create_engine, "sqlite:///other.db", { shared = "spec-pool" })
    assert.is_true(errors.is(err, "ArgumentError"))
    a:close(); b:close()
    if h.is_sqlite then os.remove(url:sub(11)) end
  end)
end)

describe("Disconnects #postgresql", function()
  local admin
  before_each(function() admin = ath.create_engine(h.url, { poolclass = "null" }) end)
  after_each(function() admin:dispose() end)

  local function kill_other_backends()
    admin:connect(function(c)
      c:execute(ath.text([[SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend']]))
    end)
  end

  it("raise OperationalError flagged as a disconnect when the backend is terminated", function()
    local e = ath.create_engine(h.url, { pool_size = 1 })
    local c = e:connect()
    local pid = c:execute(ath.text("SELECT pg_backend_pid()")):scalar()
    admin:connect(function(a) a:execute(ath.text("SELECT pg_terminate_backend(:p)"), { p = pid }) end)
    local err = h.catch(c.execute, c, ath.text("SELECT 1"))
    assert.is_true(errors.is(err, "OperationalError"))
    assert.is_true(err.connection_invalidated)
    assert.is_true(c:invalidated())
    c:close()                               -- closed, not pooled
    assert.equal(0, e.pool:status().idle)
    assert.equal(1, e:connect(function(c2) return c2:execute(ath.text("SELECT 1")):scalar() end))
    e:dispose()
  end)

  it("raise OperationalError when the connection dies inside a transaction", function()
    local e = ath.create_engine(h.url, { pool_size = 1 })
    local c = e:connect()
    c:begin()
    local pid = c:execute(ath.text("SELECT pg_backend_pid()")):scalar()
    admin:connect(function(a) a:execute(ath.text("SELECT pg_terminate_backend(:p)"), { p = pid }) end)
    local err = h.catch(c.execute, c, ath.text("SELECT 1"))
    assert.is_true(errors.is(err, "OperationalError"))
    c:close()
    e:dispose()
  end)

  it("with invalidate_pool_on_disconnect, one disconnect closes every idle connection", function()
    local e = ath.create_engine(h.url, { pool_size = 3, invalidate_pool_on_disconnect = true })
    local a, b, c = e:connect(), e:connect(), e:connect()
    for _, x in ipairs({ a, b, c }) do x:execute(ath.text("SELECT 1")) end
    b:close(); c:close()
    assert.equal(2, e.pool:status().idle)
    local pid = a:execute(ath.text("SELECT pg_backend_pid()")):scalar()
    admin:connect(function(x) x:execute(ath.text("SELECT pg_terminate_backend(:p)"), { p = pid }) end)
    h.catch(a.execute, a, ath.text("SELECT 1"))
    a:close()
    assert.equal(0, e.pool:status().idle)
    assert.equal(1, e:connect(function(x) return x:execute(ath.text("SELECT 1")):scalar() end))
    e:dispose()
  end)

  it("with pool_pre_ping, survive every backend being terminated between two batches", function()
    local e = ath.create_engine(h.url, { pool_size = 4, max_overflow = 0, pool_pre_ping = true })
    local function batch()
      for i = 1, 1000 do
        local v = e:connect(function(c) return c:execute(ath.text("SELECT :i::int + 1"), { i = i }):scalar() end)
        assert.equal(i + 1, v)
      end
    end
    batch()
    local before = e.pool:status().connects
    kill_other_backends()
    batch()
    local st = e.pool:status()
    assert.equal(0, st.checked_out)
    assert.is_true(st.connects > before)    -- the dead ones were replaced
    assert.is_true(st.idle >= 1 and st.idle <= 4)
    e:dispose()
  end)
end)
