--- Column types (API.md §2, §3): their DDL spelling comes from the dialect
-- (athanor.dialects); here they check and convert values both ways.
-- A type is usable bare (`ath.Integer`, `ath.String`) or configured by a call
-- (`ath.String(50)`, `ath.Numeric(10, 2, { asdecimal = false })`,
-- `ath.Enum{ "a", "b", name = "mood" }`), which returns a new type object.
-- Processors are nil where no conversion is needed, so hot paths skip them.
local errors = require("athanor.errors")
local compat = require("athanor.compat")

local type, tostring, setmetatable, pairs, ipairs = type, tostring, setmetatable, pairs, ipairs
local is_integer = compat.is_integer

local M = {}

local TypeEngine = { __name = "athanor.Type" }
TypeEngine.__index = TypeEngine
M.TypeEngine = TypeEngine

function TypeEngine:__tostring() return self._name end

--- Function(value, colname) -> driver value, or nil when values pass as they are.
function TypeEngine:bind_processor(dialect) return self._bind end
--- Function(raw) -> Lua value, or nil. A type whose values a dialect's driver
-- already converts says so in _driver_converts[dialect] (then nil there).
function TypeEngine:result_processor(dialect)
  local native = self._driver_converts
  if native and native[dialect] then return nil end
  return self._result
end

local function expect(what)
  return function(value, colname)
    errors.raise("ArgumentError", 4, "Column '%s' expects %s, got %s", tostring(colname), what, type(value))
  end
end

local function define(name, fields, configure)
  local t = setmetatable(fields or {}, TypeEngine)
  t._name = name
  t._kind = "type"
  if configure then
    -- calling the bare type makes a configured copy
    local mt = { __index = TypeEngine, __tostring = TypeEngine.__tostring, __name = "athanor.Type",
                 __call = function(self, ...) return configure(self, ...) end }
    setmetatable(t, mt)
  end
  return t
end

local function copy(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return setmetatable(t, getmetatable(base))
end

local null = function() return errors.null end

-- Integers ---------------------------------------------------------------
local mtype = math.type
local int_bind
if mtype then                                         -- 5.3+: one call on the hot path
  int_bind = function(value, colname)
    if mtype(value) == "integer" or value == errors.null then return value end
    if type(value) == "number" then
      errors.raise("ArgumentError", 3, "Column '%s' expects an integer, got %s", tostring(colname), tostring(value))
    end
    return expect("an integer")(value, colname)
  end
end
local function int_bind_portable(value, colname)
  if is_integer(value) or value == errors.null then return value end
  if type(value) == "number" then
    errors.raise("ArgumentError", 3, "Column '%s' expects an integer, got %s", tostring(colname), tostring(value))
  end
  return expect("an integer")(value, colname)
end
int_bind = int_bind or int_bind_portable
M.Integer = define("Integer", { _bind = int_bind })
M.SmallInteger = define("SmallInteger", { _bind = int_bind })
M.BigInteger = define("BigInteger", { _bind = int_bind }, function(self, opts)
  local t = copy(self, { as_string = opts and opts.as_string or false })
  if t.as_string then
    t._bind = function(value, colname)
      if type(value) == "string" and value:match("^%-?%d+$") then
        -- beyond 64 bits SQLite would keep a rounded REAL: refuse on every backend
        local digits = value:gsub("^%-?0*", "")
        local limit = value:sub(1, 1) == "-" and "9223372036854775808" or "9223372036854775807"
        if #digits > #limit or (#digits == #limit and digits > limit) then
          errors.raise("ArgumentError", 3, "Column '%s' expects an integer string within 64 bits, got %s",
            tostring(colname), value)
        end
        return { _ath_type = "numeric", value }
      end
      return int_bind(value, colname)
    end
    t._result = function(v) return type(v) == "number" and string.format("%d", v) or v end
  end
  return t
end)

-- Numbers ----------------------------------------------------------------
M.Float = define("Float", { _bind = function(value, colname)
  if type(value) == "number" or value == errors.null then return value end
  return expect("a number")(value, colname)
end })

-- "12", "-1.50", ".5", "1e-3": a mantissa with a digit, then an optional exponent.
local function is_decimal_text(v)
  local mantissa, exponent = v:match("^%s*([-+]?[%d.]+)([eE]?[-+]?%d*)%s*$")
  if not mantissa or not mantissa:match("%d") or not mantissa:match("^[-+]?%d*%.?%d*$") then return false end
  return exponent == "" or exponent:match("^[eE][-+]?%d+$") ~= nil
end

local function numeric_bind(value, colname)
  if value == errors.null then return value end
  if type(value) == "number" then return { _ath_type = "numeric", tostring(value) } end
  if type(value) == "string" and is_decimal_text(value) then
    return { _ath_type = "numeric", value }
  end
  return expect("a number or a decimal string")(value, colname)
end
M.Numeric = define("Numeric", { _bind = numeric_bind, asdecimal = true,
  _result = function(v) return type(v) == "number" and tostring(v) or v end }, function(self, p, s, opts)
  if type(p) == "table" then p, s, opts = nil, nil, p end
  if type(s) == "table" then s, opts = nil, s end
  local t = copy(self, { precision = p, scale = s, asdecimal = not (opts and opts.asdecimal == false) })
  t._result = t.asdecimal and self._result or function(v) return tonumber(v) end
  return t
end)

-- Booleans: SQLite stores 0/1 ------------------------------------------------
M.Boolean = define("Boolean", {
  _bind = function(value, colname)
    if type(value) == "boolean" or value == errors.null then return value end
    return expect("a boolean")(value, colname)
  end,
  _result = function(v) if type(v) == "number" then return v ~= 0 end return v end,
})

-- Strings ------------------------------------------------------------------
local function string_bind(value, colname)
  if type(value) == "string" or value == errors.null then return value end
  return expect("a string")(value, colname)
end
M.String = define("String", { _bind = string_bind }, function(self, n)
  if n ~= nil and not (is_integer(n) and n > 0) then
    errors.raise("ArgumentError", 2, "String(length): length must be a positive integer, got %s", tostring(n))
  end
  return copy(self, { length = n })
end)
M.Text = define("Text", { _bind = string_bind })
M.Uuid = define("Uuid", { _bind = function(value, colname)
  if value == errors.null then return value end
  if type(value) == "string" and #value:gsub("-", "") == 32 and value:gsub("-", ""):match("^%x+$") then return value end
  return expect("a UUID string")(value, colname)
end })

M.LargeBinary = define("LargeBinary", { _bind = function(value, colname)
  if value == errors.null then return value end
  if type(value) == "string" then return { _ath_type = "blob", value } end
  return expect("a (binary) string")(value, colname)
end })

-- Dates and times: ISO-8601 strings -------------------------------------------
local function iso(pattern, what)
  return function(value, colname)
    if value == errors.null then return value end
    if type(value) == "string" and value:match(pattern) then
      return { _ath_type = "datetime", (value:gsub("^(%d%d%d%d%-%d%d%-%d%d)T", "%1 ")) }
    end
    return expect(what)(value, colname)
  end
end
M.Date = define("Date", { _bind = iso("^%d%d%d%d%-%d%d%-%d%d$", "an ISO date string (2026-11-24)") })
M.Time = define("Time", { _bind = iso("^%d%d:%d%d", "an ISO time string (13:05:09)") })
M.DateTime = define("DateTime", { timezone = false,
  _bind = iso("^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d", "an ISO date-time string (2026-11-24 13:05:09)") },
  function(self, opts) return copy(self, { timezone = opts and opts.timezone or false }) end)

-- JSON via lua-cjson -----------------------------------------------------------
-- The PostgreSQL driver decodes json/jsonb columns itself (untyped queries
-- get Lua values too), so there the result is already decoded: decoding
-- again would read a document that is a string ("[1]") as JSON text.
M.JSON = define("JSON", {
  _driver_converts = { postgresql = true },
  _bind = function(value, colname)
    local cjson = compat.cjson
    if cjson == nil then errors.raise("InvalidRequestError", 3, "the JSON type needs lua-cjson") end
    if value == errors.null then return value end
    local ok, text = pcall(cjson.encode, value)
    if not ok then errors.raise("ArgumentError", 3, "Column '%s': %s", tostring(colname), tostring(text)) end
    return { _ath_type = "json", text }
  end,
  _result = function(v)
    if type(v) == "string" and compat.cjson then return compat.cjson.decode(v) end
    return v
  end,
})

-- Enums --------------------------------------------------------------------------
M.Enum = define("Enum", {}, function(self, spec)
  if type(spec) ~= "table" or #spec == 0 then
    errors.raise("ArgumentError", 2, "Enum{ ... } takes the allowed values, e.g. ath.Enum{ \"a\", \"b\", name = \"mood\" }")
  end
  local allowed, enums, longest = {}, {}, 1
  for i, v in ipairs(spec) do
    if type(v) ~= "string" then errors.raise("ArgumentError", 2, "Enum values must be strings, got %s", type(v)) end
    allowed[v] = true; enums[i] = v
    if #v > longest then longest = #v end
  end
  if spec.name ~= nil and (type(spec.name) ~= "string" or spec.name == "") then
    errors.raise("ArgumentError", 2, "Enum name must be a non-empty string, got %s", tostring(spec.name))
  end
  local t = copy(self, { enums = enums, enum_name = spec.name, max_length = longest })
  t._bind = function(value, colname)
    if value == errors.null then return value end
    if type(value) == "string" and allowed[value] then return value end
    errors.raise("ArgumentError", 3, "Column '%s': %s is not one of the Enum values %s", tostring(colname),
      type(value) == "string" and ("'" .. value .. "'") or type(value), table.concat(enums, ", "))
  end
  return t
end)

--- True for a type object (bare or configured).
function M.is_type(x)
  return type(x) == "table" and x._kind == "type"
end

M._null = null
return M
