--- ath.text(): literal SQL with `:name` bound parameters (API.md §4).
-- The SQL is converted once per placeholder style ("?" or "$n") and the
-- conversion is cached, so a text construct built afresh in a loop costs a
-- table lookup. Values never enter the SQL: each `:name` becomes a placeholder.
local errors = require("athanor.errors")

local type, setmetatable = type, setmetatable
local sub, byte, find, concat = string.sub, string.byte, string.find, table.concat

local M = {}

local EMPTY = {}

local TextClause = { __name = "athanor.TextClause" }
TextClause.__index = TextClause
M.TextClause = TextClause

-- Module-wide conversion cache: sql -> { [style] = { sql, names } }.
local cache, cache_count, CACHE_MAX = {}, 0, 2000

local B_COLON, B_QUOTE, B_DQUOTE, B_BACKSLASH = byte(":"), byte("'"), byte('"'), byte("\\")

local function is_name_start(b)
  return b and (b == 95 or (b >= 97 and b <= 122) or (b >= 65 and b <= 90))
end
local function is_name_char(b)
  return is_name_start(b) or (b and b >= 48 and b <= 57)
end

--- Convert `:name` placeholders of sql to the style's placeholders.
-- Skips quoted strings and identifiers, `::` casts, and `\:` escapes (which
-- become a literal colon). Returns the new SQL and the array of names in
-- placeholder order (for "$n" each distinct name appears once).
-- @param style "qmark" or "numeric_dollar"
function M.convert(sql, style)
  local out, names, n = {}, {}, 0
  local numbers = {}                      -- name -> $n for numeric style
  local i, len, last = 1, #sql, 1
  while i <= len do
    local b = byte(sql, i)
    if b == B_QUOTE or b == B_DQUOTE then
      local close = find(sql, b == B_QUOTE and "'" or '"', i + 1, true)
      i = (close or len) + 1
    elseif b == B_BACKSLASH and byte(sql, i + 1) == B_COLON then
      out[#out + 1] = sub(sql, last, i - 1)
      last = i + 1                        -- drop the backslash, keep the colon
      i = i + 2
    elseif b == B_COLON then
      local nb = byte(sql, i + 1)
      if nb == B_COLON then
        i = i + 2                         -- a ::cast
      elseif is_name_start(nb) and byte(sql, i - 1) ~= B_COLON then
        local j = i + 1
        while is_name_char(byte(sql, j + 1)) do j = j + 1 end
        local name = sub(sql, i + 1, j)
        out[#out + 1] = sub(sql, last, i - 1)
        if style == "numeric_dollar" then
          local num = numbers[name]
          if not num then
            n = n + 1
            num = n
            numbers[name] = num
            names[num] = name
          end
          out[#out + 1] = "$" .. num
        else
          names[#names + 1] = name
          out[#out + 1] = "?"
        end
        last = j + 1
        i = j + 1
      else
        i = i + 1
      end
    else
      i = i + 1
    end
  end
  out[#out + 1] = sub(sql, last)
  return concat(out), names
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
