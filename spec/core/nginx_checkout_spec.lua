-- Inside nginx a checkout from the C pool must not wait: the holder of the
-- connection is a request suspended in the same worker thread, so a wait
-- could only freeze the worker (lua/athanor/engine/init.lua). Here the
-- engine layer is told it runs in nginx; spec/openresty runs it for real.
-- A Lua-side driver's engine (postgresql+cosocket://) has its own pool
-- (engine/lua_pool.lua), which outside nginx cannot wait either: there the
-- error is that pool's.
local ath = require("athanor")
local engine_mod = require("athanor.engine")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")
local lua_side = h.url:find("+cosocket", 1, true) ~= nil

describe("Engine:connect() inside nginx (checkout_waits = false)", function()
  local saved
  before_each(function()
    saved = engine_mod.checkout_waits
    engine_mod.checkout_waits = false
  end)
  after_each(function()
    engine_mod.checkout_waits = saved
    h.cleanup()
  end)

  local function exhausted_checkout_fails_at_once(e)
    local held = e:connect()
    local t0 = core.monotonic()
    local err = h.catch(e.connect, e)
    local took = core.monotonic() - t0
    assert.is_true(took < 1, "the checkout waited " .. took .. " s")
    assert.is_true(errors.is(err, "PoolTimeoutError"), tostring(err))
    assert.truthy(err.message:find("QueuePool limit of size 1 overflow 0 reached", 1, true), err.message)
    if lua_side then
      assert.truthy(err.message:find("plain Lua has no scheduler", 1, true), err.message)
    else
      assert.truthy(err.message:find("suspended in this same nginx worker", 1, true), err.message)
      assert.truthy(err.message:find("postgresql+cosocket://", 1, true), err.message)
    end
    assert.equal(1, e.pool:status().checked_out)   -- nothing else was checked out
    assert.equal(1, held:execute(ath.text("SELECT 1")):scalar())   -- the holder is unharmed
    held:close()
    e:connect(function(c) assert.equal(2, c:execute(ath.text("SELECT 2")):scalar()) end)
  end

  it("fails at once with an error naming the pool size and the way out, instead of waiting pool_timeout", function()
    local e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = 5 })
    exhausted_checkout_fails_at_once(e)
    e:dispose()
  end)

  it("fails at once the same way when pool listeners are set", function()
    local e = h.engine({ pool_size = 1, max_overflow = 0, pool_timeout = 5 })
    local checkouts = 0
    ath.event.listen(e, "checkout", function() checkouts = checkouts + 1 end)
    exhausted_checkout_fails_at_once(e)
    assert.equal(2, checkouts)
    e:dispose()
  end)

  it("still checks out while the pool has room", function()
    local e = h.engine({ pool_size = 1, max_overflow = 1, pool_timeout = 5 })
    local a, b = e:connect(), e:connect()
    assert.equal(2, e.pool:status().checked_out)
    a:close(); b:close()
    e:dispose()
  end)

  it("is off outside nginx: there the C pool waits as documented", function()
    assert.is_true(saved)
  end)
end)
