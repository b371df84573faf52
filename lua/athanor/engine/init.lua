--- create_engine and the Engine (API.md §1).
-- An Engine owns a C engine: the parsed URL, the driver and the connection
-- pool. Engines are cheap to keep and meant to live as long as the program;
-- `engine:dispose()` closes idle connections.
local core = require("athanor.core")
local errors = require("athanor.errors")
local connection = require("athanor.engine.connection")
local event = require("athanor.event")
local dialects = require("athanor.dialects")

local setmetatable, getmetatable, type, pairs, tostring, pcall, error, rawget =
  setmetatable, getmetatable, type, pairs, tostring, pcall, error, rawget
local floor = math.floor

local M = {}

local Engine = { __name = "athanor.Engine" }
Engine.__index = Engine
M.Engine = Engine

-- Option name -> checker(value) returning what was expected, or nil.
-- Numbers are checked for their range here, NaN and infinities included, so
-- nothing out of range reaches the C pool (whose counts are C ints).
local function is_nan(v) return v ~= v end
local function int_between(min, max)
  return function(v)
    if type(v) ~= "number" or is_nan(v) or v ~= floor(v) or v < min or v > max then
      return "an integer between " .. min .. " and " .. max
    end
  end
end
local MAX_SECONDS = 31536000                  -- one year: beyond that a wait is a bug
local function seconds(v)
  if type(v) ~= "number" or is_nan(v) or v < 0 or v > MAX_SECONDS then
    return "a number of seconds between 0 and " .. MAX_SECONDS
  end
end
local function seconds_or_never(v)
  if v == -1 then return nil end
  if seconds(v) then return "-1 (never) or a number of seconds between 0 and " .. MAX_SECONDS end
end
local function boolean(v) if type(v) ~= "boolean" then return "a boolean" end end
local function string_of(set)
  return function(v)
    if type(v) ~= "string" or (set and not set[v]) then
      if not set then return "a string" end
      local names = {}
      for k in pairs(set) do names[#names + 1] = k end
      table.sort(names)
      return "one of " .. table.concat(names, ", ")
    end
  end
end

local ISOLATION = { ["READ UNCOMMITTED"] = 1, ["READ COMMITTED"] = 2, ["REPEATABLE READ"] = 3,
                    SERIALIZABLE = 4, AUTOCOMMIT = 5 }

local OPTIONS = {
  echo = function(v) if type(v) ~= "boolean" and type(v) ~= "function" then return "a boolean or a function" end end,
  pool_size = int_between(0, 1000000),
  max_overflow = int_between(-1, 1000000),    -- -1: no limit
  pool_timeout = seconds,
  pool_recycle = seconds_or_never,
  pool_pre_ping = boolean,
  pool_use_lifo = boolean,
  poolclass = string_of({ queue = true, static = true, null = true }),
  isolation_level = string_of(ISOLATION),
  connect_args = function(v) if type(v) ~= "table" then return "a table" end end,
  statement_cache_size = int_between(0, 1000000),
  shared = string_of(nil),
  invalidate_pool_on_disconnect = boolean,
  nulls = function(v) if v ~= core.null and v ~= false then return "ath.null (or false)" end end,
}

local Pool = { __name = "athanor.Pool" }
Pool.__index = Pool

--- { size =, checked_out =, overflow =, idle =, waiters = }
function Pool:status()
  if getmetatable(self) ~= Pool then
    errors.raise("ArgumentError", 2, "Pool:status() must be called on a Pool with ':', got %s", type(self))
  end
  local s = self._engine:_core():status()
  return { size = s.size, checked_out = s.checked_out, overflow = s.overflow,
           idle = s.idle, waiters = s.waiters, connects = s.connects }
end

local URL = { __name = "athanor.URL" }
URL.__index = URL
function URL:__tostring() return self._masked end

--- Create an engine for a database URL.
-- @param url "sqlite:///app.db", "sqlite://", "postgresql://user:pass@host/db", ...
-- @param opts options of API.md §1 (echo, pool_size, max_overflow, ...)
-- @return Engine
-- @raise ArgumentError for a malformed URL, an unknown option or a bad value
function M.create_engine(url, opts)
  if type(url) ~= "string" then
    errors.raise("ArgumentError", 2, "create_engine() expects a URL string, got %s", type(url))
  end
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "create_engine() options must be a table, got %s", type(opts))
  end
  opts = opts or {}
  for k, v in pairs(opts) do
    local check = OPTIONS[k]
    if check == nil then
      errors.raise("ArgumentError", 2, "Unknown create_engine option '%s'", tostring(k))
    end
    local want = check(v)
    if want then
      local got = type(v) == "string" and ("'" .. v .. "'")
                  or type(v) == "number" and tostring(v) or type(v)
      errors.raise("ArgumentError", 2, "create_engine option '%s' must be %s, got %s", k, want, got)
    end
  end
  if url:match("^[%w]+%+cosocket:") then                -- a Lua-side driver (docs/cosocket-driver.md)
    return M.wrap(require("athanor.engine.lua_engine").open(url, opts), opts)
  end
  if opts.shared ~= nil and package.loaded["athanor.engine.lua_engine"]
     and package.loaded["athanor.engine.lua_engine"].shared_url(opts.shared) then
    errors.raise("ArgumentError", 2, "shared engine '%s' is already open with another URL", opts.shared)
  end
  return M.wrap(core.engine_open(url, opts), opts)
end

--- Wrap a C engine handle (also used for engines handed over by a C host).
function M.wrap(c, opts)
  local mt = getmetatable(c)
  local lua_core = type(c) == "table" and type(mt) == "table" and mt.__name == "athanor.LuaEngine"
  if not lua_core and (type(c) ~= "userdata" or type(mt) ~= "table" or mt.__name ~= "athanor.Engine") then
    errors.raise("ArgumentError", 2, "wrap() expects a C engine handle, got %s", type(c))
  end
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "wrap() options must be a table, got %s", type(opts))
  end
  opts = opts or {}
  local info = c:info()
  local self = setmetatable({
    _c = c,
    _echo = opts.echo or false,
    _isolation = opts.isolation_level and ISOLATION[opts.isolation_level] or 0,
    _nulls = opts.nulls == core.null,        -- rows carry SQL NULL as ath.null (API.md §1)
    dialect = dialects.get(info.dialect),       -- the dialect object (dialects/<name>.lua)
    url = setmetatable({ drivername = info.dialect, database = info.database, host = info.host,
                         port = info.port, username = info.username, _masked = info.url }, URL),
    name = info.dialect,
    _event_kind = "engine",
    _listeners = false,                      -- present while empty: each execute reads it (connection.lua)
  }, Engine)
  self.pool = setmetatable({ _engine = self, kind = info.poolclass, _event_kind = "pool" }, Pool)
  return self
end

--- Dispatch a pool event to listeners on engine.pool, then on the engine
-- (SQLAlchemy sends pool events listened for on an Engine to its pool).
-- Every pool event reaches listeners through here (internal).
function M.fire_pool_event(engine, name, ...)
  event.dispatch(engine.pool, name, ...)
  event.dispatch(engine, name, ...)
end
local fire_pool_event = M.fire_pool_event
connection.fire_pool_event = fire_pool_event

-- Deliver the pool events of the checkout that gave conn, in the order the
-- pool made them (events, from core engine:connect, flattened in fours:
-- name, serial, reason kind or false, reason message or false). The C pool
-- queues them for this call instead of calling Lua, so they arrive here, in
-- the lua_State that checked conn out, whichever thread the pool is shared
-- with. An invalidation the pool made itself (a failed pre-ping) concerns a
-- connection no Connection holds: its first argument is nil.
local function deliver_checkout_events(engine, conn, events)
  for i = 1, #events, 4 do
    local name, serial, kind, message = events[i], events[i + 1], events[i + 2], events[i + 3]
    if name == "invalidate" then
      fire_pool_event(engine, name, nil, serial, kind and errors.new(kind, message) or nil)
    elseif name == "checkout" then
      fire_pool_event(engine, name, conn, serial, conn)
    else
      fire_pool_event(engine, name, conn, serial)
    end
  end
  for _ = 1, events.dropped or 0 do      -- more invalidations than the C queue holds
    fire_pool_event(engine, "invalidate", nil, nil,
      errors.new("DisconnectionError", "an idle connection failed its pre-ping (details dropped)"))
  end
end

-- Inside nginx every request of a worker runs in the worker's one OS thread.
-- A C pool wait there could only end when another request of this worker
-- returns its connection, and that request cannot run while this thread
-- waits in C: the worker would freeze for pool_timeout, then fail anyway.
-- So there a checkout does not wait (timeout 0), and the PoolTimeoutError
-- says why and what to do (docs/openresty.md). Chosen when the module loads.
local ngx_global = rawget(_G, "ngx")
M.checkout_waits = not (type(ngx_global) == "table" and type(ngx_global.get_phase) == "function")

local function no_wait_error(err)
  local limit = type(err.message) == "string" and err.message:match("^(.- reached)") or "the pool is exhausted"
  return errors.new("PoolTimeoutError", limit .. " and every connection is held by a request suspended in this " ..
    "same nginx worker (one thread: the holder can only resume once this request yields, and a wait in the " ..
    "C pool does not yield), so this checkout fails at once instead of freezing the worker for pool_timeout; " ..
    "use the cosocket driver (postgresql+cosocket://), whose pool waits by yielding, or a pool_size plus " ..
    "max_overflow as large as the number of requests one worker serves at once")
end

-- c:connect(), without waiting inside nginx when c is a C engine (a Lua-side
-- driver's engine has a pool of its own whose waits yield).
local function checkout(c, want_events)
  if M.checkout_waits or type(c) ~= "userdata" then return c:connect(nil, want_events) end
  local ok, cconn, serial, events = pcall(c.connect, c, 0, want_events)
  if ok then return cconn, serial, events end
  if errors.is(cconn, "PoolTimeoutError") then error(no_wait_error(cconn), 0) end
  error(cconn, 0)
end

-- engine:connect() with listeners: the pool events of the checkout, and
-- handle_error (with no connection) when connecting fails.
local function connect_with_events(engine, c)
  local ok, cconn, serial, events = pcall(checkout, c, true)
  if not ok then
    if errors.is(cconn, "DBAPIError") or errors.is(cconn, "DisconnectionError") then
      error(connection.handle_error(engine, nil, cconn), 0)
    end
    error(cconn, 0)
  end
  local conn = connection.new(engine, cconn, serial)
  deliver_checkout_events(engine, conn, events)
  return conn
end

-- Misuse of the public methods raises ArgumentError naming the method and
-- the argument, never a bare "attempt to call ..." from deeper down.
local function check_self(self, method)
  if getmetatable(self) ~= Engine then
    errors.raise("ArgumentError", 3, "Engine:%s() must be called on an Engine with ':', got %s",
      method, type(self))
  end
end
local function is_callable(fn)
  if type(fn) == "function" then return true end
  local mt = getmetatable(fn)
  return type(mt) == "table" and mt.__call ~= nil
end
local function check_fn(fn, method)
  if fn ~= nil and not is_callable(fn) then
    errors.raise("ArgumentError", 3, "Engine:%s() takes an optional function(conn), got %s",
      method, type(fn))
  end
end

function Engine:_core()
  local c = self._c
  if c == nil then errors.raise("ResourceClosedError", 3, "This Engine is closed") end
  return c
end

--- Check a connection out of the pool.
-- With a function: calls fn(conn), closes the connection however fn ends,
-- and returns what fn returns.
-- @param fn optional function(conn) (or a callable table)
-- @raise PoolTimeoutError when the pool stays exhausted for pool_timeout
-- @raise ArgumentError when fn is neither nil nor callable, or self is not an Engine
function Engine:connect(fn)
  check_self(self, "connect")
  check_fn(fn, "connect")
  local c = self:_core()
  local conn
  if not (self._listeners or self.pool._listeners) then
    conn = connection.new(self, checkout(c))
  else
    conn = connect_with_events(self, c)
  end
  if fn == nil then return conn end
  return connection.run_and_close(conn, false, fn)
end

--- engine:begin(fn): run fn(conn) in a transaction; commit on return, roll
-- back and re-raise on error. Returns what fn returns.
-- Without fn: a connection with a transaction begun (close it yourself).
function Engine:begin(fn)
  check_self(self, "begin")
  check_fn(fn, "begin")
  if fn == nil then
    local conn = self:connect()
    conn:begin()
    return conn
  end
  return connection.with_connection(self, true, fn)
end

--- Close idle pooled connections; checked-out ones close when returned.
-- A memory SQLite engine ("sqlite://") also drops its data: later checkouts
-- start from an empty database.
-- @raise ResourceClosedError after close()
function Engine:dispose()
  check_self(self, "dispose")
  self:_core():dispose()
end

--- Drop this handle's reference to the C engine (the pool goes away when
-- the last user of a shared engine lets go).
function Engine:close()
  check_self(self, "close")
  local c = self._c
  if c then self._c = nil c:close() end
end

function Engine:__tostring()
  return "Engine(" .. tostring(self.url) .. ")"
end

return M
