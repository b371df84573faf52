--- Event listeners (API.md §9): `ath.event.listen(target, name, fn)`.
-- Targets are athanor objects (an Engine, `engine.pool`, later sessions and
-- models). Listeners live on the target itself (`target._listeners`), so a
-- target with none costs one field read on the paths that dispatch.
local errors = require("athanor.errors")

local type, ipairs, tostring = type, ipairs, tostring
local remove = table.remove

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
-- @raise ArgumentError for an unknown target or event name
function M.listen(target, name, fn)
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
  local all = target._listeners
  if all == nil then all = {} target._listeners = all end
  local list = all[name]
  if list == nil then list = {} all[name] = list end
  list[#list + 1] = fn
end

--- Remove a listener added with listen (no-op when absent).
function M.remove(target, name, fn)
  local all = type(target) == "table" and target._listeners
  local list = all and all[name]
  if not list then return end
  for i, f in ipairs(list) do
    if f == fn then remove(list, i) break end
  end
  if #list == 0 then all[name] = nil end
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
