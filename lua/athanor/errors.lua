--- Error objects of athanor (API.md §12).
-- Every error athanor raises is a table built here: `kind`, `message`, and
-- where relevant `sql`, `params`, `code` (SQLSTATE or SQLite extended code),
-- `orig` (the driver's text), `constraint`, `connection_invalidated`.
-- `tostring(err)` is one line starting with the kind.
local M = {}

--- The SQL NULL sentinel (set by athanor's init from athanor.core).
M.null = nil

local type, setmetatable, getmetatable, tostring = type, setmetatable, getmetatable, tostring
local format, concat, sort = string.format, table.concat, table.sort

--- Each kind's parent; a kind missing here has no parent.
local parents = {
  IntegrityError = "DBAPIError", OperationalError = "DBAPIError",
  ProgrammingError = "DBAPIError", DataError = "DBAPIError", InterfaceError = "DBAPIError",
  PendingRollbackError = "InvalidRequestError", DetachedInstanceError = "InvalidRequestError",
  ObjectDeletedError = "InvalidRequestError", ResourceClosedError = "InvalidRequestError",
  NoSuchColumnError = "InvalidRequestError", NoSuchTableError = "InvalidRequestError",
}
M.parents = parents

--- Every kind athanor may raise.
M.kinds = {
  "ArgumentError", "CompileError", "NoSuchColumnError", "NoSuchTableError", "DBAPIError", "IntegrityError",
  "OperationalError", "ProgrammingError", "DataError", "InterfaceError", "DisconnectionError",
  "PoolTimeoutError", "NoResultFound", "MultipleResultsFound", "InvalidRequestError",
  "PendingRollbackError", "DetachedInstanceError", "ObjectDeletedError", "ResourceClosedError",
  "StaleDataError", "MigrationError",
}
local known = {}
for _, k in ipairs(M.kinds) do known[k] = true end

local Error = { __name = "athanor.Error" }
Error.__index = Error
M.Error = Error

-- Render a parameter value for messages: short, one line, never huge.
-- Tables are shown to a bounded depth and width, a table already being
-- shown (a cycle) as "{...}", and the whole text stops at MAX_SHOW bytes:
-- printing or logging an error must work whatever the parameters hold
-- (a 100,000-deep table used to overflow the C stack).
local MAX_SHOW, MAX_DEPTH, MAX_ITEMS, MAX_STRING = 1000, 4, 20, 60

local show

local function show_table(v, depth, seen, budget)
  if depth >= MAX_DEPTH or seen[v] then return "{...}" end
  seen[v] = true
  local parts, n, used = {}, 0, 2
  for k, x in pairs(v) do
    n = n + 1
    if n > MAX_ITEMS or used > budget then parts[#parts + 1] = "..." break end
    local part = show(x, depth + 1, seen, budget - used)
    if type(k) == "string" then
      part = (#k > MAX_STRING and k:sub(1, MAX_STRING - 3) .. "..." or k) .. "=" .. part
    elseif type(k) ~= "number" then
      part = tostring(k) .. "=" .. part
    end
    parts[#parts + 1] = part
    used = used + #part + 2
  end
  seen[v] = nil
  sort(parts)
  return "{" .. concat(parts, ", ") .. "}"
end

function show(v, depth, seen, budget)
  local t = type(v)
  if t == "string" then
    if #v > MAX_STRING then v = v:sub(1, MAX_STRING - 3) .. "..." end
    return (format("%q", v):gsub("\\\n", "\\n"))
  elseif t == "userdata" and v == M.null then
    return "NULL"
  elseif t == "table" then
    local s = show_table(v, depth or 0, seen or {}, budget or MAX_SHOW)
    if #s > MAX_SHOW then s = s:sub(1, MAX_SHOW - 4) .. "...}" end
    return s
  end
  return tostring(v)
end
M.show_value = function(v) return show(v) end

-- The SQL in a message: whitespace folded, at most MAX_SQL bytes.
local MAX_SQL = 2000
local function show_sql(sql)
  local s = tostring(sql)
  if #s > MAX_SQL * 2 then s = s:sub(1, MAX_SQL * 2) end   -- folding a huge statement costs time too
  s = s:gsub("%s+", " ")
  if #s > MAX_SQL then s = s:sub(1, MAX_SQL) .. format("... (%d bytes)", #tostring(sql)) end
  return s
end

function Error:__tostring()
  local s = self.kind .. ": " .. tostring(self.message)
  if self.sql then s = s .. " [SQL: " .. show_sql(self.sql) .. "]" end
  if self.params ~= nil then s = s .. " [parameters: " .. show(self.params) .. "]" end
  return s
end

--- Build an error object.
-- @param kind one of M.kinds
-- @param message text
-- @param fields optional table of extra fields (sql, params, code, ...), taken over
-- @return the error object
function M.new(kind, message, fields)
  local e = fields or {}
  e.kind = kind
  e.message = message
  return setmetatable(e, Error)
end

--- Raise an error of `kind` whose message is format(fmt, ...).
-- @param level as for error(): 1 = the function calling raise
function M.raise(kind, level, fmt, ...)
  local msg = select("#", ...) > 0 and format(fmt, ...) or fmt
  local e = M.new(kind, msg)
  local info = debug.getinfo((level or 1) + 1, "Sl")
  if info then e.where = info.short_src .. ":" .. tostring(info.currentline) end
  error(e, 0)
end

--- True when err is an athanor error of `kind` or of one of its sub-kinds.
function M.is(err, kind)
  if type(err) ~= "table" or getmetatable(err) ~= Error then return false end
  local k = err.kind
  while k do
    if k == kind then return true end
    k = parents[k]
  end
  return false
end

--- True for a known kind name (used by specs and the ORM).
function M.is_kind(name) return known[name] == true end

return M
