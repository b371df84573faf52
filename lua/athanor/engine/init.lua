--- create_engine and the Engine (API.md §1).
-- An Engine owns a C engine: the parsed URL, the driver and the connection
-- pool. Engines are cheap to keep and meant to live as long as the program;
-- `engine:dispose()` closes idle connections.
local core = require("athanor.core")
local errors = require("athanor.errors")
local compat = require("athanor.compat")
local connection = require("athanor.engine.connection")
local event = require("athanor.event")

local setmetatable, type, pairs, tostring, pcall, error = setmetatable, type, pairs, tostring, pcall, error
local pack, unpack = compat.pack, compat.unpack
local is_integer = compat.is_integer

local M = {}

local Engine = { __name = "athanor.Engine" }
Engine.__index = Engine
M.Engine = Engine

-- Option name -> checker(value) returning an error message or nil.
local function int_min(min)
  return function(v)
    if not is_integer(v) then return "an integer" end
    if v < min then return "an integer >= " .. min end
  end
end
local function number_any(v) if type(v) ~= "number" then return "a number" end end
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
  pool_size = int_min(0),
  max_overflow = function(v) if not is_integer(v) or v < -1 then return "an integer >= -1" end end,
  pool_timeout = number_any,
  pool_recycle = number_any,
  pool_pre_ping = boolean,
  pool_use_lifo = boolean,
  poolclass = string_of({ queue = true, static = true, null = true }),
  isolation_level = string_of(ISOLATION),
  connect_args = function(v) if type(v) ~= "table" then return "a table" end end,
  statement_cache_size = int_min(0),
  shared = string_of(nil),
  invalidate_pool_on_disconnect = boolean,
}

local Pool = { __name = "athanor.Pool" }
Pool.__index = Pool

--- { size =, checked_out =, overflow =, idle =, waiters = }
function Pool:status()
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
      errors.raise("ArgumentError", 2, "create_engine option '%s' must be %s, got %s", k, want,
        type(v) == "string" and ("'" .. v .. "'") or type(v))
    end
  end
  return M.wrap(core.engine_open(url, opts), opts)
end

--- Wrap a C engine handle (also used for engines handed over by a C host).
function M.wrap(c, opts)
  opts = opts or {}
  local info = c:info()
  local self = setmetatable({
    _c = c,
    _echo = opts.echo or false,
    _isolation = opts.isolation_level and ISOLATION[opts.isolation_level] or 0,
    dialect = { name = info.dialect, paramstyle = info.paramstyle,
                supports_returning = info.supports_returning,
                supports_transactional_ddl = info.supports_transactional_ddl },
    url = setmetatable({ drivername = info.dialect, database = info.database, host = info.host,
                         port = info.port, username = info.username, _masked = info.url }, URL),
    name = info.dialect,
    _event_kind = "engine",
  }, Engine)
  self.pool = setmetatable({ _engine = self, kind = info.poolclass, _event_kind = "pool" }, Pool)
  return self
end

--- Dispatch a pool event to listeners on engine.pool and on the engine
-- (internal). "checkout" of a fresh connection is preceded by "connect".
function M.fire_pool_event(engine, name, conn)
  if name == "checkout" and conn:_stats().checkouts == 1 then
    event.dispatch(engine.pool, "connect", conn)
    event.dispatch(engine, "connect", conn)
  end
  event.dispatch(engine.pool, name, conn)
  event.dispatch(engine, name, conn)
end
connection.fire_pool_event = M.fire_pool_event

function Engine:_core()
  local c = self._c
  if c == nil then errors.raise("ResourceClosedError", 3, "This Engine is closed") end
  return c
end

--- Check a connection out of the pool.
-- With a function: calls fn(conn), closes the connection however fn ends,
-- and returns what fn returns.
-- @raise PoolTimeoutError when the pool stays exhausted for pool_timeout
function Engine:connect(fn)
  local c = self:_core()
  local conn = connection.new(self, c:connect())
  if self._listeners or self.pool._listeners then M.fire_pool_event(self, "checkout", conn) end
  if fn == nil then return conn end
  local res = pack(pcall(fn, conn))
  conn:close()
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

--- engine:begin(fn): run fn(conn) in a transaction; commit on return, roll
-- back and re-raise on error. Returns what fn returns.
-- Without fn: a connection with a transaction begun (close it yourself).
function Engine:begin(fn)
  local conn = self:connect()
  if fn == nil then conn:begin() return conn end
  local res = pack(pcall(connection.run_in_transaction, conn, fn))
  conn:close()
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

--- Close idle pooled connections; checked-out ones close when returned.
function Engine:dispose()
  self:_core():dispose()
end

--- Drop this handle's reference to the C engine (the pool goes away when
-- the last user of a shared engine lets go).
function Engine:close()
  local c = self._c
  if c then self._c = nil c:close() end
end

function Engine:__tostring()
  return "Engine(" .. tostring(self.url) .. ")"
end

return M
