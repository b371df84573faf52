--- ath.text(): literal SQL with `:name` bound parameters (API.md §4).
-- The SQL is converted once per placeholder style ("?" or "$n") and the
-- conversion is cached, so a text construct built afresh in a loop costs a
-- table lookup. Values never enter the SQL: each `:name` becomes a placeholder.
local errors = require("athanor.errors")

local type, setmetatable = type, setmetatable

local M = {}

local EMPTY = {}

local TextClause = { __name = "athanor.TextClause" }
TextClause.__index = TextClause
M.TextClause = TextClause

-- Module-wide conversion cache: sql -> { [style] = { sql, names } }.
local cache, cache_count, CACHE_MAX = {}, 0, 2000

local K_TEXT = require("athanor.core").node_kinds.TEXT
local compile = require("athanor.core").compile
local DIALECT_OF_STYLE = { qmark = "sqlite", numeric_dollar = "postgresql" }

--- Convert `:name` placeholders of sql to the style's placeholders, with the
-- C compiler's rules for a text fragment (csrc/sql/ath_compile.c): quoted
-- strings and identifiers, `::` casts and `\:` escapes (a literal colon)
-- are left alone. Returns the new SQL and the array of names in
-- placeholder order.
-- @param style "qmark" or "numeric_dollar"
function M.convert(sql, style)
  local converted_sql, _, meta = compile({ k = K_TEXT, s = sql }, DIALECT_OF_STYLE[style] or "sqlite", nil, false)
  return converted_sql, meta.names
end

local function converted(sql, style)
  local entry = cache[sql]
  if entry == nil then
    if cache_count >= CACHE_MAX then cache, cache_count = {}, 0 end
    entry = {}
    cache[sql] = entry
    cache_count = cache_count + 1
  end
  local c = entry[style]
  if c == nil then
    local s, names = M.convert(sql, style)
    c = { s, names }
    entry[style] = c
  end
  return c
end

--- Build a text construct.
-- @param sql SQL text with `:name` placeholders
-- @raise ArgumentError when sql is not a string
function M.text(sql)
  if type(sql) ~= "string" then
    errors.raise("ArgumentError", 2, "ath.text() expects a SQL string, got %s", type(sql))
  end
  return setmetatable({ text = sql }, TextClause)
end

function TextClause:__tostring() return self.text end

--- The converted SQL and parameter names for a placeholder style.
function TextClause:compile(opts)
  local style = opts and opts.paramstyle or "qmark"
  if opts and opts.dialect == "postgresql" then style = "numeric_dollar" end
  local c = converted(self.text, style)
  return c[1], c[2]
end

-- True when params is an array of parameter tables (executemany).
local function is_many(params)
  local first = params[1]
  return type(first) == "table" and first._ath_type == nil
end
M.is_many = is_many

--- Execution hook called by Connection:execute.
function TextClause:_ath_execute(conn, params, opts)
  if self._binds or self._columns then return self:_ath_execute_compiled(conn, params, opts) end
  local style = conn._paramstyle
  local c = self[style]                      -- converted SQL cached on the object
  if c == nil then
    c = converted(self.text, style)
    self[style] = c
  end
  if params ~= nil then
    if type(params) ~= "table" then
      errors.raise("ArgumentError", 3, "execute() parameters must be a table, got %s", type(params))
    end
    local first = params[1]
    if type(first) == "table" and first._ath_type == nil then
      return conn:_executemany_sql(c[1], params, opts, nil, c[2])
    end
  end
  return conn:_execute_sql(c[1], params or EMPTY, opts, nil, c[2])
end

return M
