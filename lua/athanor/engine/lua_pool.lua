--- A connection pool in Lua, for drivers whose connections are Lua objects
-- (the cosocket driver) and so cannot live in the C pool.
--
--   local pool = lua_pool.new{ connect = fn() -> raw, close = fn(raw),
--                              reset = fn(raw) -> true | false (on checkin),
--                              pool_size = 5, max_overflow = 10, pool_timeout = 30 }
--   pool:checkout() -> raw | nil, err      pool:checkin(raw)
--   pool:invalidate(raw)                   pool:dispose()
--   pool:status() -> { size, checked_out, overflow, idle, waiters, connects }
--
-- pool_size, max_overflow (-1: no limit) and pool_timeout mean what they
-- mean for the C pool (docs/pooling.md): up to pool_size connections stay
-- idle; overflow ones are closed at checkin; a checkout that finds none
-- waits up to pool_timeout, then fails with PoolTimeoutError.
--
-- This version never yields to other requests: it is correct for one thread
-- of Lua. While it waits, only the garbage collector can give a connection
-- back (a Connection dropped without close()), so it collects and polls.
-- Inside OpenResty a pool whose wait yields the request (ngx.semaphore)
-- keeps this interface (docs/openresty.md).
local errors = require("athanor.errors")

local setmetatable, pcall, type, ipairs, rawget, format = setmetatable, pcall, type, ipairs, rawget, string.format
local remove = table.remove

local M = {}

local Pool = { __name = "athanor.LuaPool" }
Pool.__index = Pool

local function monotonic()
  return require("athanor.core").monotonic()
end

local function sleep(seconds)
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.sleep) == "function" then return ngx.sleep(seconds) end
  local ok, socket = pcall(require, "socket")
  if ok and socket.sleep then return socket.sleep(seconds) end
  local t = monotonic() + seconds
  repeat until monotonic() >= t                    -- no sleep at hand: spin (short waits only)
end

function M.new(o)
  if type(o) ~= "table" or type(o.connect) ~= "function" or type(o.close) ~= "function" then
    errors.raise("ArgumentError", 2, "lua_pool.new() needs { connect = fn, close = fn [, reset = fn] }")
  end
  return setmetatable({
    _connect = o.connect, _close = o.close, _reset = o.reset,
    _size = o.pool_size or 5, _overflow = o.max_overflow or 10, _timeout = o.pool_timeout or 30,
    _idle = {}, _out = {}, _nout = 0, _connects = 0, _waiters = 0,
  }, Pool)
end

local function close_quietly(self, raw) pcall(self._close, raw) end

-- A free slot for a new connection.
local function has_room(self)
  if self._overflow < 0 then return true end
  return self._nout + #self._idle < self._size + self._overflow
end

local function take(self, raw)
  self._out[raw] = true
  self._nout = self._nout + 1
  return raw
end

function Pool:checkout()
  local deadline
  while true do
    local idle = self._idle
    if #idle > 0 then return take(self, remove(idle, 1)) end
    if has_room(self) then
      local ok, raw = pcall(self._connect)
      if not ok then return nil, raw end
      self._connects = self._connects + 1
      return take(self, raw)
    end
    -- Exhausted: what this program dropped without closing comes back
    -- through the collector (once, and inside the wait: a full collection
    -- per poll would make the wait overshoot pool_timeout on a large heap).
    if deadline == nil then
      deadline = monotonic() + self._timeout
      collectgarbage()
    end
    if #self._idle == 0 and not has_room(self) then
      local now = monotonic()
      if now >= deadline then
        return nil, errors.new("PoolTimeoutError", format(
          "QueuePool limit of size %d overflow %d reached, connection timed out, timeout %g s",
          self._size, self._overflow, self._timeout))
      end
      self._waiters = self._waiters + 1
      sleep(math.min(0.01, deadline - now))
      self._waiters = self._waiters - 1
      -- Finalizers a full collection only queued (Lua 5.4's generational
      -- mode runs them at the next step) return their connections here.
      collectgarbage("step", 0)
    end
  end
end

function Pool:checkin(raw)
  if not self._out[raw] then return end
  self._out[raw] = nil
  self._nout = self._nout - 1
  if self._reset then
    local ok, clean = pcall(self._reset, raw)
    if not ok or clean == false then close_quietly(self, raw) return end
  end
  if #self._idle >= self._size then close_quietly(self, raw) return end   -- overflow: closed
  self._idle[#self._idle + 1] = raw
end

function Pool:invalidate(raw)
  if self._out[raw] then
    self._out[raw] = nil
    self._nout = self._nout - 1
  else
    for i, r in ipairs(self._idle) do
      if r == raw then remove(self._idle, i) break end
    end
  end
  close_quietly(self, raw)
end

function Pool:dispose()
  local idle = self._idle
  self._idle = {}
  for _, raw in ipairs(idle) do close_quietly(self, raw) end
end

function Pool:status()
  local total = self._nout + #self._idle
  return { size = self._size, checked_out = self._nout, overflow = total > self._size and total - self._size or 0,
           idle = #self._idle, waiters = self._waiters, connects = self._connects }
end

return M
