--- The engine core of a Lua-side driver: what the C engine userdata is for
-- the C drivers (csrc/lua/l_engine.c), for `postgresql+cosocket://` URLs
-- (docs/cosocket-driver.md). Engine (engine/init.lua) wraps either kind the
-- same way: connect(timeout, want_events) -> conn, serial [, events],
-- status(), info(), dispose(), close(). Connections come from a Lua pool
-- (engine/lua_pool.lua) and are handed out as handles with the method set
-- of the C Connection userdata (csrc/lua/l_conn.c), so engine/connection.lua
-- drives them unchanged.
local core = require("athanor.core")
local errors = require("athanor.errors")
local lua_pool = require("athanor.engine.lua_pool")

local setmetatable, getmetatable, pcall, error, ipairs, tostring =
  setmetatable, getmetatable, pcall, error, ipairs, tostring
local monotonic = core.monotonic
local process_id = core.process_id

local M = {}

local Core = { __name = "athanor.LuaEngine" }
Core.__index = Core
M.Core = Core

-- shared = name: engines opened with one name share one core (and pool).
local shared = {}

--- The URL a shared name is bound to by a Lua engine, or nil.
function M.shared_url(name)
  local s = shared[name]
  return s and s.url or nil
end

------------------------------------------------------------------ handles

-- A checked-out connection, as connection.lua sees it (the C Connection's
-- method set). Closing returns the driver connection to the pool.
local Handle = { __name = "athanor.LuaConnection" }
Handle.__index = Handle

local function closed_error(level)
  errors.raise("InvalidRequestError", level + 1, "Connection is closed")
end

-- A connection carried into a forked child stays its parent's (fork safety,
-- as the C pool does it: docs/pooling.md): the same refusal as l_conn.c's.
local function foreign_error(raw, level)
  errors.raise("DisconnectionError", level + 1,
    "This Connection was opened by process %d, which this process was forked from: it "
    .. "stays that process's; close it and check out a new one here", raw._owner)
end

for _, name in ipairs({ "exec", "exec_many", "exec_script", "begin", "commit", "rollback", "savepoint",
                        "release_savepoint", "rollback_to_savepoint", "in_transaction", "ping", "cancel",
                        "clear_cache" }) do
  Handle[name] = function(self, ...)
    local raw = self._raw
    if raw == nil then closed_error(2) end
    if raw._owner ~= process_id() then foreign_error(raw, 2) end
    return raw[name](raw, ...)
  end
end

-- Set while a handle's finalizer returns its connection: the pool's reset
-- must not talk to the server from inside the garbage collector (a cosocket
-- cannot yield there); the connection is reset at its next checkout instead.
local in_gc = false

local function release(self, invalidate)
  local raw = self._raw
  if raw == nil then return end
  self._raw = nil
  local pool = self._core._pool
  if raw:foreign() then pool:invalidate(raw) return end   -- disowned, never reset over the parent's socket
  raw:_detach_all(1)
  if invalidate or raw._invalid or raw._dead then pool:invalidate(raw)
  elseif self._core._null_pool then pool:invalidate(raw)
  else pool:checkin(raw) end
end

function Handle:close() release(self, false) end
function Handle:invalidate() release(self, true) end
function Handle:is_closed() return self._raw == nil end
function Handle:is_invalid()
  local raw = self._raw
  return raw ~= nil and (raw._invalid == true or raw._dead == true)
end
function Handle:stats()
  local raw = self._raw
  if raw == nil then closed_error(1) end
  return { prepares = raw._prepares, checkouts = raw._checkouts }
end

local function gc_release(self)
  in_gc = true
  pcall(release, self, false)
  in_gc = false
end
Handle.__gc = gc_release
Handle.__close = Handle.close

local newproxy = rawget(_G, "newproxy")      -- Lua 5.1/LuaJIT: tables have no __gc

local function new_handle(c, raw)
  local h = setmetatable({ _raw = raw, _core = c }, Handle)
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = function() gc_release(h) end
    h._gc = proxy
  end
  return h
end

------------------------------------------------------------------ the core

local function driver_module() return require("athanor.drivers.pgwire") end

--- core for url (a `+cosocket` URL) with create_engine's checked options.
function M.open(url, opts)
  opts = opts or {}
  local u = core.pgwire.parse_url(url)
  if u.dialect ~= "postgresql" then
    errors.raise("ArgumentError", 3, "the cosocket driver speaks PostgreSQL only, not '%s' (use postgresql+cosocket://)",
      tostring(u.dialect))
  end
  if opts.shared ~= nil then
    local s = shared[opts.shared]
    if s then
      if s.url ~= url then
        errors.raise("ArgumentError", 3, "shared engine '%s' is already open with another URL", opts.shared)
      end
      s.refs = s.refs + 1
      return s.core
    end
  end
  local driver = require("athanor.drivers.pgwire")
  local p = driver.params(u, opts.connect_args)
  local kind = opts.poolclass or "queue"
  local size, overflow = opts.pool_size or 5, opts.max_overflow or 10
  if kind == "null" then size, overflow = 0, -1
  elseif kind == "static" then size, overflow = 1, 0 end
  local self = setmetatable({
    _u = u, _p = p, _kind = kind, _null_pool = kind == "null",
    _recycle = opts.pool_recycle or -1, _pre_ping = opts.pool_pre_ping == true,
    _shared = opts.shared,
  }, Core)
  local cache_size = opts.statement_cache_size or 128
  local on_disconnect
  if opts.invalidate_pool_on_disconnect then
    on_disconnect = function() if self._pool then self._pool:dispose() end end
  end
  self._pool = lua_pool.new({
    connect = function()
      local raw = driver.connect(p, cache_size)
      raw._born = monotonic()
      raw._checkouts = 0
      raw._on_disconnect = on_disconnect
      return raw
    end,
    close = function(raw) raw:close() end,
    reset = function(raw)
      if in_gc then
        -- nginx closes a request's cosockets when it ends: one left to the
        -- collector cannot be parked from here, so it is dropped
        if driver.in_nginx() then return false end
        raw._dirty = true
        return true
      end
      raw:rollback()
      raw:park()
      return true
    end,
    pool_size = size, max_overflow = overflow, pool_timeout = opts.pool_timeout or 30,
  })
  if opts.shared ~= nil then shared[opts.shared] = { url = url, core = self, refs = 1 } end
  return self
end

local function check_open(self)
  if self._pool == nil then errors.raise("InvalidRequestError", 3, "Engine is closed") end
end

-- Append one pool event to events (the flattened fours of engine_connect).
local function add_event(events, name, serial, err)
  if events == nil then return end
  local n = #events
  events[n + 1] = name
  events[n + 2] = serial
  events[n + 3] = err and err.kind or false
  events[n + 4] = err and err.message or false
end

--- core:connect([timeout [, want_events]]) -> conn, serial [, events]
function Core:connect(_, want_events)
  check_open(self)
  if driver_module().in_nginx() then driver_module().check_phase() end
  local pool = self._pool
  local events = want_events and { dropped = 0 } or nil
  while true do
    local raw, err = pool:checkout()
    if raw == nil then error(err, 0) end
    local fresh = raw._checkouts == 0
    if raw:foreign() then
      pool:invalidate(raw)                           -- the parent's: disowned, a new one opened here
    elseif not fresh and self._recycle >= 0 and monotonic() - raw._born > self._recycle then
      pool:invalidate(raw)                           -- SQLAlchemy: no invalidate event on recycle
    elseif not fresh and raw._dirty and not pcall(raw.rollback, raw) then
      pool:invalidate(raw)
    else
      raw._dirty = nil
      local ping_err
      if not fresh and self._pre_ping then ping_err = raw:_ping_error() end
      if ping_err then
        add_event(events, "invalidate", raw._id, ping_err)
        pool:invalidate(raw)
      else
        if fresh then add_event(events, "connect", raw._id) end
        raw._checkouts = raw._checkouts + 1
        add_event(events, "checkout", raw._id)
        local h = new_handle(self, raw)
        if want_events then return h, raw._id, events end
        return h, raw._id
      end
    end
  end
end

function Core:status()
  check_open(self)
  return self._pool:status()
end

function Core:dispose()
  check_open(self)
  self._pool:dispose()
end

function Core:close()
  local pool = self._pool
  if pool == nil then return end
  if self._shared ~= nil then
    local s = shared[self._shared]
    if s and s.core == self then
      s.refs = s.refs - 1
      if s.refs > 0 then return end
      shared[self._shared] = nil
    end
  end
  self._pool = nil
  pool:dispose()
end

function Core:info()
  check_open(self)
  local u = self._u
  return {
    dialect = "postgresql", driver = "cosocket", paramstyle = "numeric_dollar",
    database = u.database, host = u.host, port = u.port, username = u.username, url = u.masked,
    supports_returning = true, supports_transactional_ddl = true, memory = false, poolclass = self._kind,
  }
end

function Core:__tostring()
  return "Engine(" .. (self._u and self._u.masked or "closed") .. ")"
end

return M
