--- ath.text(): literal SQL with `:name` bound parameters (API.md §4).
-- The SQL is converted once per dialect (its placeholders, "?" or "$n", and
-- its quoting rules) and the conversion is cached, so a text construct built
-- afresh in a loop costs a table lookup. Values never enter the SQL: each
-- `:name` becomes a placeholder.
local errors = require("athanor.errors")

local type, setmetatable = type, setmetatable

local M = {}

local EMPTY = {}

-- Methods: those below; _as_node, bindparams, columns and
-- _ath_execute_compiled come from the expression language (sql/init.lua).
local TextClause = { __name = "athanor.TextClause" }
TextClause.__index = TextClause
M.TextClause = TextClause

-- Module-wide conversion cache: sql -> { [dialect] = { sql, names } }.
local cache, cache_count, CACHE_MAX = {}, 0, 2000

local K_TEXT = require("athanor.core").node_kinds.TEXT
local compile = require("athanor.core").compile
local dialects = require("athanor.dialects")

-- The dialect name a paramstyle ("qmark", "numeric_dollar") stands for, or nil.
local function dialect_of_style(style)
  local d = style and dialects.for_paramstyle(style)
  return d and d.name
end

--- Convert `:name` placeholders of sql to the dialect's placeholders, with
-- the C compiler's rules for a text fragment (csrc/sql/ath_render_text.c): what
-- the dialect quotes (strings, identifiers, PostgreSQL's E'' and dollar
-- quotes), `::` casts and `\:` escapes (a literal colon) are left alone.
-- Returns the new SQL and the array of names in placeholder order.
-- @param dialect "sqlite", "postgresql" or "mysql"; or a placeholder style
--   ("qmark" = sqlite, "numeric_dollar" = postgresql)
function M.convert(sql, dialect)
  dialect = dialect_of_style(dialect) or dialect or "sqlite"
  local converted_sql, _, meta = compile({ k = K_TEXT, s = sql }, dialect, nil, false)
  return converted_sql, meta.names
end

local function converted(sql, dialect)
  local entry = cache[sql]
  if entry == nil then
    if cache_count >= CACHE_MAX then cache, cache_count = {}, 0 end
    entry = {}
    cache[sql] = entry
    cache_count = cache_count + 1
  end
  local c = entry[dialect]
  if c == nil then
    local s, names = M.convert(sql, dialect)
    c = { s, names }
    entry[dialect] = c
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

--- The converted SQL and parameter names for a dialect (or a placeholder style).
function TextClause:compile(opts)
  local dialect = opts and opts.dialect or dialect_of_style(opts and opts.paramstyle or "qmark") or "sqlite"
  local c = converted(self.text, dialect)
  return c[1], c[2]
end

local execute_sql = require("athanor.engine.connection").Connection._execute_sql

--- Execution hook called by Connection:execute.
function TextClause:_ath_execute(conn, params, opts)
  local dialect = conn.dialect_name
  local c = self[dialect]                    -- converted SQL cached on the object
  if not c then
    -- bindparams() and columns() make a new construct, so one that was
    -- converted (cached above) never has them: checked only here
    if self._binds or self._columns then return self:_ath_execute_compiled(conn, params, opts) end
    c = converted(self.text, dialect)
    self[dialect] = c
  end
  if params ~= nil then
    if type(params) ~= "table" then
      errors.raise("ArgumentError", 3, "execute() parameters must be a table, got %s", type(params))
    end
    local first = params[1]   -- params.is_many inlined: a call here cost the point select ~3% (callgrind)
    if first and type(first) == "table" and first._ath_type == nil then
      return conn:_executemany_sql(c[1], params, opts, nil, c[2])
    end
    return execute_sql(conn, c[1], params, opts, nil, c[2])
  end
  return execute_sql(conn, c[1], EMPTY, opts, nil, c[2])
end

return M
