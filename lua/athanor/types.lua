--- Column types (API.md §2, §3): their DDL spelling comes from the dialect
-- (athanor.dialects); here they check and convert values both ways.
-- A type is usable bare (`ath.Integer`, `ath.String`) or configured by a call
-- (`ath.String(50)`, `ath.Numeric(10, 2, { asdecimal = false })`,
-- `ath.Enum{ "a", "b", name = "mood" }`), which returns a new type object.
-- Processors are nil where no conversion is needed, so hot paths skip them.
local errors = require("athanor.errors")
local compat = require("athanor.compat")
local core = require("athanor.core")

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
  t._class = t                 -- configured copies keep their bare type as class
  t._affinity = t              -- the general class in SQLAlchemy's sense (Float -> Numeric)
  -- (set here, not inherited, so the operators' lookups hit the table itself)
  t._int_type, t._float_type = false, false   -- a number compared with this type binds as itself
  t._concatenable = false
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
-- Compared with (or computed with) an integer column, a number it cannot
-- hold keeps its own type, as SQLAlchemy's coerce_compared_value does:
-- `col:gt(2.5)` binds 2.5 as a Float; anything else is checked as the column's.
local function int_compare_bind(value, colname)
  if type(value) == "number" then return value end
  return int_bind(value, colname)
end
M.Integer = define("Integer", { _bind = int_bind, _compare_bind = int_compare_bind })
M.SmallInteger = define("SmallInteger", { _bind = int_bind, _compare_bind = int_compare_bind })
M.BigInteger = define("BigInteger", { _bind = int_bind, _compare_bind = int_compare_bind }, function(self, opts)
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
    t._compare_bind = function(value, colname)
      if type(value) == "number" then return value end
      return t._bind(value, colname)
    end
  end
  return t
end)

-- Numbers ----------------------------------------------------------------
-- A Float expression the server computes as an exact decimal (PostgreSQL's
-- avg(integer), numeric * float) arrives as text: read as a number, as
-- SQLAlchemy's Float does there. SQLite returns REALs as numbers already.
M.Float = define("Float", {
  _bind = function(value, colname)
    if type(value) == "number" or value == errors.null then return value end
    return expect("a number")(value, colname)
  end,
  -- tonumber(v) for a string ("NaN", "Infinity" and "-Infinity" too),
  -- anything else as it is; in C (l_cursor.c), where the row builder does
  -- not call it for values that are numbers already.
  _result = core.number_from_text,
  _driver_converts = { sqlite = true },
})

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
-- Decimal text of a number a driver returned (SQLite keeps NUMERIC as REAL
-- or INTEGER): with the type's scale when it has one, as SQLAlchemy's
-- to_decimal_processor does ("5.00" for 5 in a Numeric(10, 2)). Text from
-- the server (PostgreSQL) is exact already and passes unchanged.
local function decimal_result(scale)
  if scale ~= nil and scale < 0 then scale = 0 end   -- PostgreSQL's numeric(5, -2) holds integers
  if scale == nil or scale > 99 then                  -- beyond what string.format can spell
    return function(v) return type(v) == "number" and tostring(v) or v end
  end
  local float_format = "%." .. scale .. "f"
  local fraction = scale > 0 and ("." .. string.rep("0", scale)) or ""
  if mtype then                                       -- 5.3+: C's printf rounds a tie to even, as Python
    return function(v)
      if type(v) ~= "number" then return v end
      if mtype(v) == "integer" then return string.format("%d", v) .. fraction end  -- exact beyond 2^53
      return string.format(float_format, v)
    end
  end
  -- LuaJIT's own formatter rounds an exact tie (2.125 at scale 2) away from
  -- zero; SQLAlchemy (Python's "%.2f") and Lua 5.4 round it to even. Enough
  -- digits show whether the value is a tie: a double that is not one
  -- differs from it within about 16 + 1.7 * scale digits.
  local wide_format = "%." .. math.min(99, 2 * scale + 20) .. "f"
  return function(v)
    if type(v) ~= "number" then return v end
    local text = string.format(float_format, v)
    local wide = string.format(wide_format, v)
    local point = wide:find(".", 1, true)
    if point and wide:find("^50*$", point + scale + 1) then
      local kept = wide:sub(1, scale > 0 and point + scale or point - 1)
      if kept:byte(-1) % 2 == 0 then return kept end  -- the even neighbour is the truncation
    end
    return text
  end
end

M.Numeric = define("Numeric", { _bind = numeric_bind, asdecimal = true, _result = decimal_result(nil) },
  function(self, p, s, opts)
  if type(p) == "table" then p, s, opts = nil, nil, p end
  if type(s) == "table" then s, opts = nil, s end
  if s ~= nil and not is_integer(s) then
    errors.raise("ArgumentError", 2, "Numeric(precision, scale): scale must be an integer, got %s", tostring(s))
  end
  local t = copy(self, { precision = p, scale = s, asdecimal = not (opts and opts.asdecimal == false) })
  t._result = t.asdecimal and decimal_result(s) or function(v) return tonumber(v) end
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

-- Types of expressions ----------------------------------------------------------
-- SQLAlchemy's _expression_adaptations (sqlalchemy/sql/sqltypes.py): the
-- type of `a op b` by the general class ("affinity") of each side. A table
-- entry is the class of the result, SELF the left side's own class; no
-- entry keeps the left type. A result class that is one side's affinity
-- gives that side's type itself, so Numeric(10, 2) * 2 keeps its scale.
local SELF = "self"
M.SmallInteger._affinity, M.BigInteger._affinity = M.Integer, M.Integer
M.Float._affinity = M.Numeric
M.Text._affinity = M.String
local INTEGER_ADAPT = {
  ["+"] = { [M.Date] = M.Date, [M.Integer] = SELF, [M.Numeric] = M.Numeric },
  ["-"] = { [M.Integer] = SELF, [M.Numeric] = M.Numeric },
  ["*"] = { [M.Integer] = SELF, [M.Numeric] = M.Numeric },
  ["/"] = { [M.Integer] = SELF, [M.Numeric] = M.Numeric },
}
local NUMERIC_ADAPT = {}
for _, op in ipairs({ "+", "-", "*", "/" }) do NUMERIC_ADAPT[op] = { [M.Numeric] = SELF, [M.Integer] = SELF } end
for _, t in ipairs({ M.Integer, M.SmallInteger, M.BigInteger }) do t._adapt = INTEGER_ADAPT end
M.Numeric._adapt, M.Float._adapt = NUMERIC_ADAPT, NUMERIC_ADAPT
M.Date._adapt = {
  ["+"] = { [M.Integer] = SELF, [M.Time] = M.DateTime },
  ["-"] = { [M.Integer] = SELF, [M.Date] = M.Integer },
}
M.Time._adapt = { ["+"] = { [M.Date] = M.DateTime } }
-- Strings concatenate: `+` between them is SQL's || (SQLAlchemy Concatenable).
M.String._concatenable, M.Text._concatenable, M.Enum._concatenable = true, true, true
-- Operators whose operands may swap, so an untyped left side takes the right's type.
local COMMUTES = { ["+"] = true, ["*"] = true }

-- The type of a number compared or computed with a type that cannot hold
-- it (_int_type for integral numbers, _float_type for others; false: the
-- type holds it). Date and time columns take numbers in arithmetic
-- (`day + 1`); their own check stays for everything else.
for _, t in ipairs({ M.Integer, M.SmallInteger, M.BigInteger }) do t._float_type = M.Float end
for _, t in ipairs({ M.Date, M.DateTime, M.Time }) do
  t._int_type, t._float_type = M.Integer, M.Float
  local own = t._bind
  t._compare_bind = function(value, colname)
    if type(value) == "number" then return value end
    return own(value, colname)
  end
end

--- The type a value compared or computed with an expression of this type is
-- bound as (SQLAlchemy's coerce_compared_value): this type when it can hold
-- the value, else the value's own (a float against an Integer is a Float, a
-- number against a Date an Integer or Float). Other mismatches keep this
-- type, whose bind check then names the column.
function TypeEngine:coerce_compared_value(value)
  if type(value) ~= "number" then return self end
  local as
  if is_integer(value) then as = self._int_type else as = self._float_type end
  return as or self
end

--- The SQL operator and result type of `left op right` for operands of types
-- lt and rt (nil: untyped), by SQLAlchemy's rules: Integer * Float is a Float,
-- Numeric(10, 2) + Integer the Numeric(10, 2), comparisons are Boolean (the
-- caller's), `+` on strings is ||.
-- @return op, type (nil when unknown)
function M.operate(op, lt, rt)
  if lt == nil then
    if rt == nil or not COMMUTES[op] then return op, nil end
    if op == "+" and rt._concatenable then return "||", rt end
    return op, M.result_type(op, rt, nil)
  end
  if op == "+" and lt._concatenable and (rt == nil or rt._concatenable) then return "||", lt end
  return op, M.result_type(op, lt, rt)
end

--- The result type of `left op right` (see operate), never changing op.
function M.result_type(op, lt, rt)
  if lt == nil then
    if rt == nil or not COMMUTES[op] then return nil end
    lt, rt = rt, nil
  end
  local by_op = lt._adapt and lt._adapt[op]
  local result = by_op and rt and by_op[rt._affinity]
  if result == nil then return lt end
  if result == SELF then result = lt._class end
  if result == rt._affinity then return rt end
  if result == lt._affinity then return lt end
  return result
end

--- True for a type object (bare or configured).
function M.is_type(x)
  return type(x) == "table" and x._kind == "type"
end

M._null = null
-- Bind processors that give back unchanged every value of one Lua type
-- (keyed by the function itself, so a configured copy with its own _bind
-- is not mistaken for its class): INSERT's row conversion checks the type
-- inline instead of calling them (sql/dml.lua).
M._plain_binds = { [int_bind] = "integer", [string_bind] = "string", [M.Float._bind] = "number" }

return M
