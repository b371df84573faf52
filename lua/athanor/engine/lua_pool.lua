--- The pool for connections of drivers written in Lua (API.md §1).
-- The C pool (csrc/engine/ath_pool.c) holds the C drivers' connections and
-- waits on a condition variable, which in OpenResty would freeze the worker:
-- the holder of a connection is another request's coroutine in the same OS
-- thread, and it can only give the connection back once this thread runs Lua
-- again. This pool keeps the same counts, options and messages, but a
-- checkout that must wait yields the request's coroutine on an
-- `ngx.semaphore` (with the time left of `pool_timeout`), so the worker keeps
-- serving other requests, and the holder can finish and check in.
--
-- Where nothing can yield (plain Lua, or an nginx phase that cannot yield:
-- init_worker, set, header/body filters, log, ...) a wait could never end:
-- the holders are suspended in this same thread. There an exhausted pool
-- fails at once with PoolTimeoutError saying so, instead of sleeping for
-- pool_timeout and failing anyway.
--
-- The pool knows connections only as opaque values handled through the
-- functions given to new(): connect, close, reset and (for pre_ping) ping.
-- Any of them may yield (cosocket I/O); the counts stay right because a slot
-- is reserved before a connect and given up only after a close.
--
--   local pool = lua_pool.new{ connect = fn() -> raw | nil, err,
--                              close = fn(raw), reset = fn(raw) -> true | nil, err,
--                              pool_size = 5, max_overflow = 10, pool_timeout = 30 }
--   local raw, err = pool:checkout()   ...   pool:checkin(raw)
--
-- Not thread-safe (nothing in one lua_State is); one pool per nginx worker.
local errors = require("athanor.errors")

local type, setmetatable, getmetatable, pcall, tostring, format, floor, rawget =
  type, setmetatable, getmetatable, pcall, tostring, string.format, math.floor, rawget
local remove = table.remove

local M = {}

local Pool = { __name = "athanor.LuaPool" }
Pool.__index = Pool
M.Pool = Pool

-- nginx phases in which ngx.semaphore:wait() may yield.
local YIELDABLE = { rewrite = true, server_rewrite = true, access = true, content = true,
                    timer = true, ssl_cert = true, ssl_session_fetch = true,
                    ssl_client_hello = true }

--- What the pool asks of its host: a clock, whether a wait may yield now,
-- and semaphores. Chosen once when the module loads: OpenResty (the `ngx`
-- global with ngx.semaphore) or plain Lua. A spec may pass another as
-- `_host` to new() (a scheduler of its own).
-- host.now() -> seconds; host.can_wait() -> true | nil, why;
-- host.semaphore() -> an object with :wait(seconds) -> true | nil, "timeout",
-- :post(n), :count().
local function plain_host()
  return {
    name = "plain Lua",
    now = os.time,
    can_wait = function()
      return nil, "plain Lua has no scheduler to run the holders meanwhile"
    end,
  }
end

local function nginx_host(ngx)
  local ok, semaphore = pcall(require, "ngx.semaphore")
  if not ok then return nil end
  local get_phase, update_time, now = ngx.get_phase, ngx.update_time, ngx.now
  return {
    name = "nginx",
    now = function() update_time() return now() end,
    can_wait = function()
      local phase = get_phase()
      if YIELDABLE[phase] then return true end
      return nil, format("nginx phase '%s' cannot yield", tostring(phase))
    end,
    semaphore = function() return (semaphore.new(0)) end,
  }
end

local function detect_host()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.get_phase) == "function" then
    local host = nginx_host(ngx)
    if host then return host end
  end
  return plain_host()
end
M.host = detect_host()

-- Option checks, as create_engine's (lua/athanor/engine/init.lua).
local MAX_SIZE, MAX_SECONDS = 1000000, 31536000
local function check_int(opts, name, default, min)
  local v = opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v ~= floor(v) or v < min or v > MAX_SIZE then
    errors.raise("ArgumentError", 4, "lua_pool option '%s' must be an integer between %d and %d, got %s",
      name, min, MAX_SIZE, tostring(v))
  end
  return v
end
local function check_seconds(opts, name, default, never_ok)
  local v = opts[name]
  if v == nil then return default end
  if never_ok and v == -1 then return v end
  if type(v) ~= "number" or v ~= v or v < 0 or v > MAX_SECONDS then
    errors.raise("ArgumentError", 4, "lua_pool option '%s' must be %sa number of seconds between 0 and %d, got %s",
      name, never_ok and "-1 (never) or " or "", MAX_SECONDS, tostring(v))
  end
  return v
end
local function check_fn(opts, name, required)
  local v = opts[name]
  if v == nil and not required then return nil end
  if type(v) ~= "function" then
    errors.raise("ArgumentError", 4, "lua_pool option '%s' must be a function, got %s", name, type(v))
  end
  return v
end

--- Make a pool.
-- @param opts connect (function() -> raw | nil, err), close (function(raw)),
--   reset (optional function(raw) -> true | nil, err, called at checkin to
--   roll back; a failure or a raise closes the connection instead of pooling
--   it), ping (optional function(raw) -> true | nil, err, used with
--   pre_ping), pool_size (5), max_overflow (10; -1 = no limit),
--   pool_timeout (30 s), pool_recycle (-1: never), pre_ping (false),
--   use_lifo (false)
-- @return the pool
-- @raise ArgumentError naming a missing function or a bad number
function M.new(opts)
  if type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "lua_pool.new() expects an options table, got %s", type(opts))
  end
  local self = setmetatable({
    _connect = check_fn(opts, "connect", true),
    _close = check_fn(opts, "close", true),
    _reset = check_fn(opts, "reset", false),
    _ping = check_fn(opts, "ping", false),
    _size = check_int(opts, "pool_size", 5, 0),
    _max_overflow = check_int(opts, "max_overflow", 10, -1),
    _timeout = check_seconds(opts, "pool_timeout", 30, false),
    _recycle = check_seconds(opts, "pool_recycle", -1, true),
    _pre_ping = opts.pre_ping == true,
    _lifo = opts.use_lifo == true,
    _host = opts._host or M.host,
    _idle = {},          -- array of entries { raw =, created =, gen = }
    _out = {},           -- raw -> entry, for the connections checked out
    _checked_out = 0,
    _open = 0,           -- connections open or being opened (slots taken)
    _connects = 0,       -- connections ever opened
    _gen = 0,            -- dispose() bumps it: older connections close on return
  }, Pool)
  if self._ping == nil and self._pre_ping then
    errors.raise("ArgumentError", 2, "lua_pool option 'pre_ping' needs a 'ping' function")
  end
  return self
end

local function check_self(self, method)
  if getmetatable(self) ~= Pool then
    errors.raise("ArgumentError", 3, "LuaPool:%s() must be called on a pool with ':', got %s", method, type(self))
  end
end

-- Close raw for good and give up its slot; a waiter may take the slot.
-- close() may yield; it must not raise (a raise is ignored: the connection
-- is gone either way).
local function close_entry(self, entry)
  pcall(self._close, entry.raw)
  self._open = self._open - 1
  self:_wake_one()
end

-- Wake one waiter, unless every waiter already has a wakeup coming. The
-- semaphore does the counting: count() is negative by the number of
-- coroutines queued and not yet posted for, and a request that ends while
-- it waits (client gone, ngx.exit elsewhere) leaves its queue with nginx's
-- cleanup, so nothing here can count a waiter that no longer exists.
function Pool:_wake_one()
  local sema = self._sema
  if sema and sema:count() < 0 then sema:post(1) end
end

local function limit_reached(self)
  return self._max_overflow >= 0 and self._open >= self._size + self._max_overflow
end

local function is_stale(self, entry)
  return entry.gen ~= self._gen or
         (self._recycle >= 0 and self._host.now() - entry.created > self._recycle)
end

-- One attempt without waiting: an idle connection (checked if pre_ping is
-- on), or a new one while below the limit. Returns raw; or nil, err when
-- connecting failed; or nil when the pool is exhausted.
local function try_checkout(self)
  while #self._idle > 0 do
    local entry = self._lifo and remove(self._idle) or remove(self._idle, 1)
    if is_stale(self, entry) then
      close_entry(self, entry)
    else
      self._out[entry.raw] = entry
      self._checked_out = self._checked_out + 1
      if not self._pre_ping then return entry.raw end
      local ok, alive = pcall(self._ping, entry.raw)
      if ok and alive then return entry.raw end
      self._out[entry.raw] = nil                 -- dead: drop it, try the next (or connect)
      self._checked_out = self._checked_out - 1
      close_entry(self, entry)
    end
  end
  if limit_reached(self) then return nil end
  self._open = self._open + 1                    -- reserve the slot; connect may yield
  local gen = self._gen
  local ok, raw, err = pcall(self._connect)
  if not ok or raw == nil then
    self._open = self._open - 1
    self:_wake_one()                             -- the slot is free for a waiter
    if ok then err = err or errors.new("OperationalError", "could not connect (the driver gave no reason)")
    else err = raw end
    return nil, err
  end
  self._connects = self._connects + 1
  local entry = { raw = raw, created = self._host.now(), gen = gen }
  self._out[raw] = entry
  self._checked_out = self._checked_out + 1
  return raw
end

local function exhausted_message(self)
  return format("QueuePool limit of size %d overflow %d reached", self._size, self._max_overflow)
end

--- Check a connection out.
-- Waits (yielding, in OpenResty) up to pool_timeout while the pool is
-- exhausted; where waiting is impossible, fails at once.
-- @return raw connection; or nil and an error object: PoolTimeoutError, or
--   whatever connect() returned or raised
function Pool:checkout()
  check_self(self, "checkout")
  local raw, err = try_checkout(self)
  if raw ~= nil or err ~= nil then return raw, err end
  -- Exhausted. Connections dropped without checkin come back only through
  -- the collector (a driver's __gc): collect once, as the C pool does.
  collectgarbage()
  raw, err = try_checkout(self)
  if raw ~= nil or err ~= nil then return raw, err end
  local host = self._host
  local can, why = host.can_wait()
  if not can then
    return nil, errors.new("PoolTimeoutError", format(
      "%s and this checkout cannot wait: %s, and the %d connection(s) checked out are held in this " ..
      "same thread, so none could come back during a wait; close a connection before checking out another, " ..
      "or raise pool_size/max_overflow", exhausted_message(self), why, self._checked_out))
  end
  local deadline = host.now() + self._timeout
  if self._sema == nil then self._sema = host.semaphore() end
  local sema = self._sema
  while true do
    local left = deadline - host.now()
    if left <= 0 then break end
    if not sema:wait(left) and sema:count() > 0 then
      -- A post landed between our timeout and our return: it was meant for
      -- this waiter, and left unclaimed it would wake the next one for
      -- nothing. Take it.
      sema:wait(0)
    end
    raw, err = try_checkout(self)
    if raw ~= nil or err ~= nil then return raw, err end
  end
  return nil, errors.new("PoolTimeoutError", format("%s, connection timed out, timeout %s s",
    exhausted_message(self), tostring(self._timeout)))
end

--- Return a connection: reset it (roll back), then keep it idle, or close
-- it when the pool already keeps pool_size idle ones, when it predates a
-- dispose(), or when reset failed. A value the pool did not hand out (or a
-- second checkin) is ignored.
function Pool:checkin(raw)
  check_self(self, "checkin")
  local entry = raw ~= nil and self._out[raw]
  if not entry then return end
  self._out[raw] = nil
  self._checked_out = self._checked_out - 1
  local keep = true
  if self._reset then
    local ok, done, err = pcall(self._reset, raw)
    keep = ok and (done ~= nil and done ~= false or err == nil)
  end
  if keep and entry.gen == self._gen and #self._idle < self._size then
    self._idle[#self._idle + 1] = entry
    self:_wake_one()
  else
    close_entry(self, entry)
  end
end

--- Close a checked-out connection and forget it (a broken connection: it
-- never goes back to the pool). A value the pool did not hand out is ignored.
function Pool:invalidate(raw)
  check_self(self, "invalidate")
  local entry = raw ~= nil and self._out[raw]
  if not entry then return end
  self._out[raw] = nil
  self._checked_out = self._checked_out - 1
  close_entry(self, entry)
end

--- Close the idle connections now; checked-out ones close when returned.
-- The pool stays usable: a later checkout opens a new connection.
function Pool:dispose()
  check_self(self, "dispose")
  self._gen = self._gen + 1
  local idle = self._idle
  self._idle = {}
  for i = 1, #idle do close_entry(self, idle[i]) end
end

--- { size =, checked_out =, overflow =, idle =, waiters =, connects = },
-- as engine.pool:status() (overflow is negative while the pool fills).
function Pool:status()
  check_self(self, "status")
  local queued = self._sema and -self._sema:count() or 0
  return { size = self._size, checked_out = self._checked_out, overflow = self._open - self._size,
           idle = #self._idle, waiters = queued > 0 and queued or 0, connects = self._connects }
end

function Pool:__tostring()
  return format("LuaPool(size %d, overflow %d, %d checked out, %d idle)",
    self._size, self._max_overflow, self._checked_out, #self._idle)
end

return M
