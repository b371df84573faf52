--- Event listeners (API.md §9): `ath.event.listen(target, name, fn)`.
-- Targets are athanor objects (an Engine, `engine.pool`, later sessions and
-- models). Listeners live on the target itself (`target._listeners`), so a
-- target with none costs one field read on the paths that dispatch.
local errors = require("athanor.errors")

local type, ipairs, tostring, next = type, ipairs, tostring, next

local M = {}

--- Event names each kind of target accepts.
local NAMES = {
  engine = { connect = true, checkout = true, checkin = true, invalidate = true,
             before_execute = true, after_execute = true, before_cursor_execute = true,
             after_cursor_execute = true, handle_error = true, begin = true, commit = true,
             rollback = true },
  pool = { connect = true, checkout = true, checkin = true, invalidate = true },
}
M.NAMES = NAMES

local function kind_of(target)
  if type(target) ~= "table" then return nil end
  return target._event_kind
end

--- Register fn to be called as fn(...) when `name` happens on target.
-- Arguments per event: docs/events.md. Listener options (SQLAlchemy's
-- `retval=True`, `once`, ...) are not supported: a fourth argument is an
-- ArgumentError.
-- @raise ArgumentError for an unknown target or event name, or options
function M.listen(target, name, fn, opts)
  local kind = kind_of(target)
  if kind == nil then
    errors.raise("ArgumentError", 2, "ath.event.listen(): %s is not an event target", tostring(target))
  end
  if not NAMES[kind][name] then
    errors.raise("ArgumentError", 2, "ath.event.listen(): no event '%s' on a %s", tostring(name), kind)
  end
  if type(fn) ~= "function" then
    errors.raise("ArgumentError", 2, "ath.event.listen(): listener must be a function, got %s", type(fn))
  end
  if opts ~= nil then
    errors.raise("ArgumentError", 2,
      "ath.event.listen(): listener options (retval, once, ...) are not supported; " ..
      "a listener cannot replace the statement or parameters (see docs/events.md)")
  end
  local all = target._listeners or {}
  -- Copy on write: a dispatch already running keeps the list it started with.
  local list = {}
  for i, f in ipairs(all[name] or {}) do list[i] = f end
  list[#list + 1] = fn
  all[name] = list
  target._listeners = all
end

--- Remove a listener added with listen (no-op when absent). With none left
-- the target is back on the no-listener fast path.
function M.remove(target, name, fn)
  local all = type(target) == "table" and target._listeners
  local old = all and all[name]
  if not old then return end
  local list, found = {}, false
  for _, f in ipairs(old) do
    if f == fn and not found then found = true else list[#list + 1] = f end
  end
  all[name] = #list > 0 and list or nil
  if next(all) == nil then target._listeners = nil end
end

--- True when fn listens for name on target.
function M.contains(target, name, fn)
  local all = type(target) == "table" and target._listeners
  local list = all and all[name]
  if not list then return false end
  for _, f in ipairs(list) do if f == fn then return true end end
  return false
end

--- Call every listener of name on target with the arguments (internal).
function M.dispatch(target, name, ...)
  local all = target._listeners
  local list = all and all[name]
  if not list then return end
  for i = 1, #list do list[i](...) end
end

return M
