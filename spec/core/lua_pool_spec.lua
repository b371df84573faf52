-- The pool of Lua-side drivers' connections (lua/athanor/engine/lua_pool.lua),
-- with fake connect/close functions: no database, so it runs the same on
-- every backend. The yielding wait is driven by a small scheduler of
-- coroutines standing in for nginx (a fake clock, fake semaphores); inside
-- nginx it runs for real in spec/openresty.
local lua_pool = require("athanor.engine.lua_pool")
local errors = require("athanor.errors")

-- Fake connections: tables with an id; closed ones are marked.
local function fake_driver()
  local d = { opened = 0, closed = 0, resets = 0, live = {} }
  function d.connect()
    d.opened = d.opened + 1
    local raw = { id = d.opened }
    d.live[raw] = true
    return raw
  end
  function d.close(raw)
    assert(d.live[raw], "closed twice or never opened")
    d.live[raw] = nil
    raw.closed = true
    d.closed = d.closed + 1
  end
  function d.reset(raw)
    d.resets = d.resets + 1
    if raw.fail_reset then return nil, "rollback failed" end
    return true
  end
  function d.pool(opts)
    opts = opts or {}
    opts.connect, opts.close, opts.reset = opts.connect or d.connect, d.close, d.reset
    return lua_pool.new(opts)
  end
  return d
end

local function clock()
  return os.clock()
end

-- A scheduler of coroutines with a fake clock, and a host for the pool whose
-- semaphores yield to it (what ngx.semaphore does inside nginx).
local function scheduler()
  local s = { t = 0, ready = {}, sleeping = {}, waiting = {} }
  local host = { name = "fake scheduler" }
  s.host = host
  function host.now() return s.t end
  function host.can_wait() return true end
  function host.semaphore()
    local sema = { n = 0, queue = {} }
    function sema.wait(self, timeout)
      if self.n > 0 then self.n = self.n - 1 return true end
      if timeout <= 0 then return nil, "timeout" end
      local w = { co = coroutine.running(), deadline = s.t + timeout, sema = self }
      self.queue[#self.queue + 1] = w
      s.waiting[w] = true
      local posted = coroutine.yield()
      if posted then return true end
      return nil, "timeout"
    end
    function sema.post(self, n)
      for _ = 1, n do
        local w = table.remove(self.queue, 1)
        if w then
          s.waiting[w] = nil
          s.ready[#s.ready + 1] = { co = w.co, arg = true }
        else
          self.n = self.n + 1
        end
      end
    end
    function sema.count(self) return self.n > 0 and self.n or -#self.queue end
    return sema
  end
  function s.spawn(fn) s.ready[#s.ready + 1] = { co = coroutine.create(fn) } end
  function s.sleep(dt)
    s.sleeping[#s.sleeping + 1] = { co = coroutine.running(), at = s.t + dt }
    coroutine.yield()
  end
  -- Run until nothing is left: ready coroutines first, then the clock jumps
  -- to the next sleeper or wait deadline.
  function s.run()
    while true do
      while #s.ready > 0 do
        local job = table.remove(s.ready, 1)
        local ok, err = coroutine.resume(job.co, job.arg)
        if not ok then error(err, 0) end
      end
      local next_t, kind, which = math.huge, nil, nil
      for i, sl in ipairs(s.sleeping) do
        if sl.at < next_t then next_t, kind, which = sl.at, "sleep", i end
      end
      for w in pairs(s.waiting) do
        if w.deadline < next_t then next_t, kind, which = w.deadline, "wait", w end
      end
      if kind == nil then return end
      s.t = next_t
      if kind == "sleep" then
        local sl = table.remove(s.sleeping, which)
        s.ready[#s.ready + 1] = { co = sl.co }
      else
        s.waiting[which] = nil
        for i, w in ipairs(which.sema.queue) do
          if w == which then table.remove(which.sema.queue, i) break end
        end
        s.ready[#s.ready + 1] = { co = which.co, arg = false }
      end
    end
  end
  return s
end

describe("lua_pool (the pool of Lua-side drivers)", function()
  it("keeps pool_size connections, opens max_overflow more while busy, and closes the extra one on return", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 2, max_overflow = 1 })
    local a, b, c = pool:checkout(), pool:checkout(), pool:checkout()
    assert.same({ size = 2, checked_out = 3, overflow = 1, idle = 0, waiters = 0, connects = 3 }, pool:status())
    pool:checkin(a); pool:checkin(b); pool:checkin(c)
    assert.same({ size = 2, checked_out = 0, overflow = 0, idle = 2, waiters = 0, connects = 3 }, pool:status())
    assert.equal(1, d.closed)
    assert.is_true(c.closed)                       -- the third went back to a full pool
    assert.equal(3, d.resets)                      -- each was rolled back on return
    local again = pool:checkout()
    assert.equal(a, again)                         -- FIFO: the oldest idle one
    assert.equal(3, d.opened)
  end)

  it("reports a negative overflow while the pool is still filling", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 5 })
    assert.same({ size = 5, checked_out = 0, overflow = -5, idle = 0, waiters = 0, connects = 0 }, pool:status())
    pool:checkout()
    assert.equal(-4, pool:status().overflow)
  end)

  it("fails at once in plain Lua when exhausted, naming size and overflow and why it cannot wait", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 1, max_overflow = 1, pool_timeout = 5 })
    local a, b = pool:checkout(), pool:checkout()
    local t0 = clock()
    local raw, err = pool:checkout()
    assert.is_true(clock() - t0 < 1, "it waited")
    assert.is_nil(raw)
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    assert.truthy(err.message:find("QueuePool limit of size 1 overflow 1 reached", 1, true))
    assert.truthy(err.message:find("plain Lua has no scheduler", 1, true))
    assert.truthy(err.message:find("2 connection(s) checked out", 1, true))
    assert.same({ size = 1, checked_out = 2, overflow = 1, idle = 0, waiters = 0, connects = 2 }, pool:status())
    pool:checkin(a); pool:checkin(b)
    assert.is_not_nil(pool:checkout())             -- usable again once one is back
  end)

  it("names the nginx phase when the phase cannot yield", function()
    local d = fake_driver()
    local host = { now = os.time, can_wait = function() return nil, "nginx phase 'log' cannot yield" end }
    local pool = d.pool({ pool_size = 1, max_overflow = 0, _host = host })
    pool:checkout()
    local _, err = pool:checkout()
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    assert.truthy(err.message:find("nginx phase 'log' cannot yield", 1, true))
  end)

  it("opens connections without limit when max_overflow is -1", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 1, max_overflow = -1 })
    for _ = 1, 50 do assert.is_not_nil(pool:checkout()) end
    assert.equal(50, pool:status().checked_out)
    assert.equal(49, pool:status().overflow)
  end)

  it("closes an invalidated connection, frees its slot, and ignores values it did not hand out", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 1, max_overflow = 0 })
    local a = pool:checkout()
    pool:invalidate(a)
    assert.is_true(a.closed)
    assert.same({ size = 1, checked_out = 0, overflow = -1, idle = 0, waiters = 0, connects = 1 }, pool:status())
    pool:invalidate(a); pool:checkin(a); pool:checkin({}); pool:checkin(nil)   -- no-ops
    assert.equal(1, d.closed)
    local b = pool:checkout()
    assert.are_not.equal(a, b)
    assert.equal(2, d.opened)
  end)

  it("closes a connection whose reset fails or raises instead of pooling it", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 2 })
    local a, b = pool:checkout(), pool:checkout()
    a.fail_reset = true
    pool:checkin(a)
    assert.is_true(a.closed)
    local raising = lua_pool.new({ connect = d.connect, close = d.close,
                                   reset = function() error("boom") end })
    local c = raising:checkout()
    raising:checkin(c)
    assert.is_true(c.closed)
    assert.equal(0, raising:status().idle)
    pool:checkin(b)
    assert.equal(1, pool:status().idle)
  end)

  it("returns connect's error and gives the slot back when connecting fails or raises", function()
    local d = fake_driver()
    local fail = "refused"
    local pool = lua_pool.new({ pool_size = 1, max_overflow = 0, close = d.close, connect = function()
      if fail == "refused" then return nil, errors.new("OperationalError", "connection refused") end
      if fail == "raise" then error(errors.new("OperationalError", "raised"), 0) end
      if fail == "silent" then return nil end
      return d.connect()
    end })
    local raw, err = pool:checkout()
    assert.is_nil(raw)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.equal("connection refused", err.message)
    fail = "raise"
    raw, err = pool:checkout()
    assert.is_nil(raw)
    assert.equal("raised", err.message)
    fail = "silent"
    raw, err = pool:checkout()
    assert.is_nil(raw)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.same({ size = 1, checked_out = 0, overflow = -1, idle = 0, waiters = 0, connects = 0 }, pool:status())
    fail = nil
    assert.is_not_nil(pool:checkout())             -- the slot was not lost
  end)

  it("closes idle connections on dispose, checked-out ones on return, and stays usable", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 3 })
    local a, b, c = pool:checkout(), pool:checkout(), pool:checkout()
    pool:checkin(a); pool:checkin(b)
    pool:dispose()
    assert.is_true(a.closed and b.closed)
    assert.is_nil(c.closed)
    assert.same({ size = 3, checked_out = 1, overflow = -2, idle = 0, waiters = 0, connects = 3 }, pool:status())
    pool:checkin(c)
    assert.is_true(c.closed)                       -- made before the dispose
    local after = pool:checkout()                  -- a checkout after dispose opens a new one
    assert.is_not_nil(after)
    assert.is_nil(after.closed)
    assert.equal(4, d.opened)
    pool:checkin(after)
    assert.equal(1, pool:status().idle)
    assert.is_nil(after.closed)                    -- made after the dispose: pooled
  end)

  it("replaces a dead idle connection when pre_ping is on", function()
    local d = fake_driver()
    local pool = d.pool({ pool_size = 1, pre_ping = true, ping = function(raw)
      if raw.dead then return nil, "gone" end
      return true
    end })
    local a = pool:checkout()
    pool:checkin(a)
    a.dead = true
    local b = pool:checkout()
    assert.are_not.equal(a, b)
    assert.is_true(a.closed)
    assert.same({ size = 1, checked_out = 1, overflow = 0, idle = 0, waiters = 0, connects = 2 }, pool:status())
  end)

  it("replaces a connection older than pool_recycle at checkout", function()
    local d = fake_driver()
    local s = scheduler()
    local pool = d.pool({ pool_size = 1, pool_recycle = 10, _host = s.host })
    local a = pool:checkout()
    pool:checkin(a)
    s.t = 5
    assert.equal(a, pool:checkout())
    pool:checkin(a)
    s.t = 11
    local b = pool:checkout()
    assert.are_not.equal(a, b)
    assert.is_true(a.closed)
  end)

  it("refuses bad options with ArgumentError naming the option", function()
    local d = fake_driver()
    local cases = {
      { {}, "'connect' must be a function" },
      { { connect = d.connect }, "'close' must be a function" },
      { { connect = d.connect, close = d.close, pool_size = -1 }, "'pool_size' must be an integer between 0" },
      { { connect = d.connect, close = d.close, max_overflow = 1.5 }, "'max_overflow' must be an integer between -1" },
      { { connect = d.connect, close = d.close, pool_timeout = 0 / 0 }, "'pool_timeout' must be a number of seconds" },
      { { connect = d.connect, close = d.close, pool_recycle = -2 }, "'pool_recycle' must be -1 (never) or" },
      { { connect = d.connect, close = d.close, pre_ping = true }, "'pre_ping' needs a 'ping' function" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(lua_pool.new, case[1])
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(err.message:find(case[2], 1, true), err.message)
    end
    local ok, err = pcall(lua_pool.new, "pool")
    assert.is_false(ok)
    assert.truthy(err.message:find("expects an options table", 1, true))
    ok, err = pcall(lua_pool.new({ connect = d.connect, close = d.close }).checkout, {})
    assert.is_false(ok)
    assert.truthy(err.message:find("must be called on a pool with ':'", 1, true))
  end)

  it("chooses the plain Lua host outside nginx", function()
    assert.equal("plain Lua", lua_pool.host.name)
  end)
end)

describe("lua_pool under a scheduler (the yielding wait)", function()
  it("makes a checkout wait by yielding until the holder checks in, then hands over the connection", function()
    local d = fake_driver()
    local s = scheduler()
    local pool = d.pool({ pool_size = 1, max_overflow = 0, pool_timeout = 5, _host = s.host })
    local log = {}
    s.spawn(function()
      local raw = pool:checkout()
      log[#log + 1] = "A got " .. raw.id .. " at " .. s.t
      s.sleep(0.5)                                 -- holds it across a yield, as ngx.sleep
      pool:checkin(raw)
    end)
    s.spawn(function()
      local raw = pool:checkout()
      log[#log + 1] = "B got " .. raw.id .. " at " .. s.t
      s.sleep(0.5)
      pool:checkin(raw)
    end)
    s.spawn(function()
      log[#log + 1] = "C sees " .. pool:status().waiters .. " waiter at " .. s.t  -- others run meanwhile
    end)
    s.run()
    assert.same({ "A got 1 at 0", "C sees 1 waiter at 0", "B got 1 at 0.5" }, log)
    assert.same({ size = 1, checked_out = 0, overflow = 0, idle = 1, waiters = 0, connects = 1 }, pool:status())
  end)

  it("times out after pool_timeout with the C pool's message, leaving the counts as they were", function()
    local d = fake_driver()
    local s = scheduler()
    local pool = d.pool({ pool_size = 1, max_overflow = 0, pool_timeout = 0.25, _host = s.host })
    local err, at
    s.spawn(function()
      local raw = pool:checkout()
      s.sleep(1)
      pool:checkin(raw)
    end)
    s.spawn(function()
      local raw
      raw, err = pool:checkout()
      assert.is_nil(raw)
      at = s.t
    end)
    s.run()
    assert.is_true(errors.is(err, "PoolTimeoutError"))
    assert.equal("QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.25 s", err.message)
    assert.equal(0.25, at)
    assert.same({ size = 1, checked_out = 0, overflow = 0, idle = 1, waiters = 0, connects = 1 }, pool:status())
  end)

  it("wakes one waiter per returned connection and serves them all in order", function()
    local d = fake_driver()
    local s = scheduler()
    local pool = d.pool({ pool_size = 2, max_overflow = 0, pool_timeout = 10, _host = s.host })
    local done = {}
    for i = 1, 6 do
      s.spawn(function()
        local raw, err = pool:checkout()
        assert.is_not_nil(raw, tostring(err))
        s.sleep(1)
        done[#done + 1] = i .. "@" .. s.t
        pool:checkin(raw)
      end)
    end
    s.run()
    assert.same({ "1@1", "2@1", "3@2", "4@2", "5@3", "6@3" }, done)
    assert.equal(2, d.opened)
    assert.same({ size = 2, checked_out = 0, overflow = 0, idle = 2, waiters = 0, connects = 2 }, pool:status())
  end)

  it("lets a waiter open a new connection when a holder invalidates its own", function()
    local d = fake_driver()
    local s = scheduler()
    local pool = d.pool({ pool_size = 1, max_overflow = 0, pool_timeout = 5, _host = s.host })
    local got
    s.spawn(function()
      local raw = pool:checkout()
      s.sleep(0.1)
      pool:invalidate(raw)
    end)
    s.spawn(function() got = pool:checkout() end)
    s.run()
    assert.equal(2, got.id)
    assert.equal(0.1, s.t)
  end)
end)
