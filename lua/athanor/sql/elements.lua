--- Expression elements (API.md §4): the nodes every SQL expression is built
-- from, their operators, and the constructors ath.func, ath.case, ath.cast,
-- ath.literal, ath.bindparam, ath.and_/or_/not_.
-- A node is a plain table in the shape the C compiler reads (k, s, s2, s3,
-- f, v, t and children at 1..n; see csrc/sql/ath_sql.h); `type` is the SQL
-- type of its value, used to convert bound values and results. Nodes are
-- never modified once built.
-- What the user hands in is a node only when its metatable is one of the
-- node classes registered below (Expr, Column, Table, Select, ...): a
-- user's object or JSON document holding a field `k` is a value, never
-- compiled as a node. The C compiler refuses unregistered metatables too.
local core = require("athanor.core")
local errors = require("athanor.errors")
local types = require("athanor.types")
local schema = require("athanor.schema")
local text_construct = require("athanor.text")

local K = core.node_kinds
local type, setmetatable, getmetatable, select, tostring, ipairs =
  type, setmetatable, getmetatable, select, tostring, ipairs

local M = { K = K }

local Expr = { __name = "athanor.Expression" }
Expr.__index = Expr
M.Expr = Expr

local Column = schema._Column
local TextClause = text_construct.TextClause

local NODE_CLASSES = {}          -- metatable -> true

--- Make mt's tables nodes (a class of athanor's own: Expr, Table, Select...).
function M.register_node_class(mt)
  NODE_CLASSES[mt] = true
  core.register_node_metatable(mt)
end
M.register_node_class(Expr)
M.register_node_class(Column)
M.register_node_class(schema._Table)

--- True for anything the compiler can render (expressions, columns, tables,
-- selects): a table whose metatable is a registered node class.
local function is_node(x)
  return type(x) == "table" and NODE_CLASSES[getmetatable(x)] == true
end
M.is_node = is_node

--- True for an ath.text() construct.
local function is_text(x)
  return type(x) == "table" and getmetatable(x) == TextClause
end
M.is_text = is_text

--- True for a FROM element (table, alias, join, subquery, CTE) / a select.
function M.is_from(x) return is_node(x) and x._from == true end
function M.is_selectable(x) return is_node(x) and x._selectable == true end

local function node(k, fields)
  fields.k = k
  return setmetatable(fields, Expr)
end
M.node = node

local NULL_NODE = node(K.NULL, {})
M.true_ = node(K.TRUE, { type = types.Boolean })
M.false_ = node(K.FALSE, { type = types.Boolean })

--- A bound value; `like` is the expression whose type converts it.
-- ath.null binds SQL NULL; nil is refused (there is no way to tell it from
-- a missing argument).
local function bind(value, like, level)
  if value == nil then
    errors.raise("ArgumentError", (level or 2) + 1,
      "nil is not a SQL value: use ath.null for NULL%s", like and like.name and (" (column '" .. like.name .. "')") or "")
  end
  local ty = like and like.type
  local proc = ty and ty._bind
  if proc and value ~= errors.null then value = proc(value, like.name or tostring(ty)) end
  return setmetatable({ k = K.BIND, v = value }, Expr)
end
M.bind = bind

--- The node for an operand: nodes stay, values are bound (typed like `like`).
local function coerce(x, like, level)
  if is_node(x) then return x end
  if is_text(x) then return x:_as_node() end
  return bind(x, like, (level or 2) + 1)
end
M.coerce = coerce

--- The node for the other operand of an operator on `like` (a comparison,
-- arithmetic): nodes stay; a value is bound as the type like's type gives
-- it (types coerce_compared_value), so a float compared with an Integer
-- column is bound as a Float instead of refused.
local mtype, is_integer = math.type, require("athanor.compat").is_integer
local function compared(x, like, level)
  if type(x) == "number" then
    local ty = like and like.type
    if ty then                                        -- inline types coerce_compared_value (a hot path)
      local as
      if mtype and mtype(x) == "integer" or not mtype and is_integer(x) then as = ty._int_type
      else as = ty._float_type end
      if as then
        local n = bind(x, { type = as, name = like.name }, (level or 2) + 1)
        n.type = as
        return n
      end
    end
    return bind(x, like, (level or 2) + 1)
  end
  return coerce(x, like, (level or 2) + 1)
end
M.compared = compared

--- The node for a criterion (WHERE, HAVING, ON, and_/or_/not_, CASE WHEN):
-- an expression, ath.text(), a boolean, or ath.null. A plain string is
-- refused (SQLAlchemy: "Textual SQL expression ... should be explicitly
-- declared as text()"); binding it as a value would make the predicate a
-- constant string, true on SQLite for every row.
-- @param role what takes the criterion, for the message ("where()")
local function criterion(x, role, level)
  if is_node(x) then return x end
  if is_text(x) then return x:_as_node() end
  local tx = type(x)
  if tx == "boolean" then return x and M.true_ or M.false_ end
  if x == errors.null then return M.null_node end
  if tx == "string" then
    local shown = errors.show_value(x)
    errors.raise("ArgumentError", (level or 2) + 1,
      "%s: textual SQL %s must be declared as ath.text(%s); a Lua string is never SQL", role, shown, shown)
  end
  errors.raise("ArgumentError", (level or 2) + 1,
    "%s expects a SQL expression (a column comparison, ath.text(), true or false), got %s", role,
    tx == "table" and "a table" or errors.show_value(x))
end
M.criterion = criterion

------------------------------------------------------------------- operators

local function binary(op, l, r, ty)
  return setmetatable({ k = K.BINARY, s = op, l, r, type = ty }, Expr)
end
M.binary = binary

local BOOL = types.Boolean

local K_BINARY, K_BIND, K_POSTFIX = K.BINARY, K.BIND, K.POSTFIX

local function comparison(op, null_op)
  return function(self, other)
    local to = type(other)
    if to == "number" or to == "string" or to == "boolean" then   -- the hot path: a plain value
      local ty = self.type
      local proc = ty and (ty._compare_bind or ty._bind)   -- a float against an Integer stays a float
      if proc then other = proc(other, self.name) end
      return setmetatable({ k = K_BINARY, s = op, self, setmetatable({ k = K_BIND, v = other }, Expr), type = BOOL }, Expr)
    end
    if other == errors.null and null_op then
      return setmetatable({ k = K_POSTFIX, s = null_op, self, type = BOOL }, Expr)
    end
    return binary(op, self, compared(other, self, 2), BOOL)
  end
end

Expr.eq = comparison("=", "IS NULL")
Expr.ne = comparison("!=", "IS NOT NULL")
Expr.lt = comparison("<")
Expr.le = comparison("<=")
Expr.gt = comparison(">")
Expr.ge = comparison(">=")

-- LIKE patterns are strings whatever the column's type.
local function like_op(op)
  return function(self, pattern)
    return binary(op, self, coerce(pattern, nil, 2), BOOL)
  end
end
Expr.like = like_op("LIKE")
Expr.not_like = like_op("NOT LIKE")
Expr.ilike = like_op("ILIKE")
Expr.not_ilike = like_op("NOT ILIKE")

-- startswith/endswith/contains match the text literally: % and _ in the
-- value are escaped, so "50%" finds "50%" and not "500".
local ESCAPE = setmetatable({ k = K.TEXT, s = "'/'" }, Expr)
local function escape_like(v)
  return (v:gsub("[/%%_]", "/%0"))
end
local function literal_match(prefix, suffix)
  return function(self, text)
    if type(text) ~= "string" then
      errors.raise("ArgumentError", 2, "%s expects a string, got %s", prefix == "%" and (suffix == "%" and "contains" or "endswith") or "startswith", type(text))
    end
    local pattern = bind(prefix .. escape_like(text) .. suffix, nil, 2)
    return binary("LIKE", self, binary("ESCAPE", pattern, ESCAPE), BOOL)
  end
end
Expr.startswith = literal_match("", "%")
Expr.endswith = literal_match("%", "")
Expr.contains = literal_match("%", "%")

function Expr:is_(other)
  if other == errors.null or other == nil then
    return setmetatable({ k = K.POSTFIX, s = "IS NULL", self, type = BOOL }, Expr)
  end
  return binary("IS", self, compared(other, self, 2), BOOL)
end
function Expr:is_not(other)
  if other == errors.null or other == nil then
    return setmetatable({ k = K.POSTFIX, s = "IS NOT NULL", self, type = BOOL }, Expr)
  end
  return binary("IS NOT", self, compared(other, self, 2), BOOL)
end

local function in_op(negate)
  return function(self, values)
    local n = setmetatable({ k = K.IN, f = negate and K.F_NEGATE or nil, self, type = BOOL }, Expr)
    if M.is_selectable(values) then
      n[2] = values:_as_select()
      return n
    end
    if type(values) ~= "table" or is_node(values) then
      errors.raise("ArgumentError", 2, "in_() expects an array of values or a select, got %s", type(values))
    end
    for i = 1, #values do n[i + 1] = compared(values[i], self, 2) end
    return n
  end
end
Expr.in_ = in_op(false)
Expr.not_in = in_op(true)

function Expr:between(low, high, opts)
  return setmetatable({ k = K.BETWEEN, f = opts and opts.negate and K.F_NEGATE or nil,
                        self, compared(low, self, 2), compared(high, self, 2), type = BOOL }, Expr)
end

--- col:op("@>")(value): a custom binary operator. Operator text is SQL the
-- programmer writes (like a function name): only symbol characters or words.
function Expr:op(opstring)
  if type(opstring) ~= "string" or not (opstring:match("^[%+%-%*/<>=~!@#%%^&|`?]+$") or opstring:match("^[%a ]+$")) then
    errors.raise("ArgumentError", 2, "op() expects an operator such as '@>' or 'SIMILAR TO', got %s", tostring(opstring))
  end
  return function(other) return binary(opstring, self, compared(other, self, 2)) end
end

local function postfix(op)
  return function(self) return setmetatable({ k = K.POSTFIX, s = op, self, type = self.type }, Expr) end
end
Expr.asc = postfix("ASC")
Expr.desc = postfix("DESC")
Expr.nulls_first = postfix("NULLS FIRST")
Expr.nulls_last = postfix("NULLS LAST")

function Expr:distinct()
  return setmetatable({ k = K.UNARY, s = "DISTINCT", self, type = self.type }, Expr)
end

function Expr:label(name)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "label() expects a name, got %s", tostring(name))
  end
  return setmetatable({ k = K.LABEL, s = name, self, type = self.type, name = name }, Expr)
end

function Expr:collate(collation)
  if type(collation) ~= "string" or collation == "" then
    errors.raise("ArgumentError", 2, "collate() expects a collation name, got %s", tostring(collation))
  end
  return setmetatable({ k = K.COLLATE, s = collation, self, type = self.type }, Expr)
end

-- The spelling of a type in CAST per dialect (sqlite, postgresql, mysql).
local dialects = require("athanor.dialects")
local function cast(x, ty, level)
  if not types.is_type(ty) then
    errors.raise("ArgumentError", (level or 2) + 1, "cast() expects an athanor type (ath.Integer, ...), got %s", tostring(ty))
  end
  local expr = coerce(x, nil, (level or 2) + 1)
  local my = dialects.get("mysql"):type_ddl(ty)
  -- MySQL's CAST accepts only a few target names
  if ty._name == "Integer" or ty._name == "BigInteger" or ty._name == "SmallInteger" then my = "SIGNED"
  elseif ty._name == "String" or ty._name == "Text" then my = "CHAR"
  elseif ty._name == "Float" then my = "DOUBLE" end
  return setmetatable({ k = K.CAST, s = dialects.get("sqlite"):type_ddl(ty), s2 = dialects.get("postgresql"):type_ddl(ty),
                        s3 = my, expr, type = ty }, Expr)
end
function Expr:cast(ty) return cast(self, ty, 2) end
M.cast = function(x, ty) return cast(x, ty, 2) end

-- Integer types: `/` casts its right operand so that 5/2 is 2.5 as in Lua.
local INTEGRAL = { Integer = true, SmallInteger = true, BigInteger = true }
local FLOAT_CAST = { s = "REAL", s2 = "DOUBLE PRECISION", s3 = "DOUBLE" }

-- The result type (and, for strings, `+` as ||) follows SQLAlchemy's
-- rules (types.operate): an Integer column times 0.5 is a Float.
local function arith(op)
  return function(a, b)
    local left, right
    if is_node(a) then left = a; right = compared(b, a, 2)
    else right = b; left = compared(a, b, 2) end
    local lt, rt = left.type, right.type
    if rt == nil and lt ~= nil and not lt._concatenable then   -- the common case: col + 1
      return binary(op, left, right, lt)
    end
    local sql_op, ty = types.operate(op, lt, rt)
    return binary(sql_op, left, right, ty)
  end
end
Expr.__add = arith("+")
Expr.__sub = arith("-")
Expr.__mul = arith("*")
Expr.__mod = arith("%")
function Expr.__div(a, b)
  local left = is_node(a) and a or compared(a, b, 2)
  local right = is_node(b) and b or compared(b, a, 2)
  local lt, rt = left.type, right.type
  local divisor = right
  if (lt == nil or INTEGRAL[lt._name]) and (rt == nil or INTEGRAL[rt._name]) then
    right = setmetatable({ k = K.CAST, s = FLOAT_CAST.s, s2 = FLOAT_CAST.s2, s3 = FLOAT_CAST.s3, right,
                           type = types.Float }, Expr)
  end
  -- integer operands were cast: true division, a Float; otherwise SQLAlchemy's rules
  return binary("/", left, right, right ~= divisor and types.Float or types.result_type("/", lt, rt))
end
function Expr:floordiv(other)
  return setmetatable({ k = K.FUNC, s = "floor", Expr.__div(self, other), type = types.Integer }, Expr)
end
Expr.__idiv = Expr.floordiv
function Expr.__unm(a)
  return setmetatable({ k = K.UNARY, s = "-", a, type = a.type }, Expr)
end
function Expr.__concat(a, b)
  local left = is_node(a) and a or coerce(a, nil, 2)
  local right = is_node(b) and b or coerce(b, nil, 2)
  return binary("||", left, right, types.String)
end
function Expr:concat(other) return Expr.__concat(self, other) end

-------------------------------------------------------------- boolean logic

-- and_(a, b, ...) / or_(...). A child of the same kind with many terms is
-- kept as it is, not copied: or_(c, x) is { OR, c, x }, and the C compiler
-- flattens nested nodes of one kind into one list (l_compile.c
-- convert_junction). So a chain built one term at a time costs O(n), not
-- O(n^2); a small child (at most INLINE terms) is copied, which costs a
-- constant and keeps everyday trees flat. The rendering is the same flat
-- "a OR b OR c" either way.
local INLINE = 8
local function conjunction(k, role)
  local function add(n, count, c)
    c = criterion(c, role, 3)
    if c.k == k and getmetatable(c) == Expr then
      local m = #c
      if m <= INLINE then                                  -- and_() inside and_() adds nothing
        for j = 1, m do n[count + j] = c[j] end
        return count + m
      end
    end
    n[count + 1] = c
    return count + 1
  end
  return function(...)
    local n = setmetatable({ k = k, type = BOOL }, Expr)
    local count = 0
    local nargs = select("#", ...)
    if nargs <= 2 then
      local a, b = ...
      if a ~= nil then count = add(n, count, a) end
      if b ~= nil then count = add(n, count, b) end
    else
      local args = { ... }                                 -- select(i, ...) in a loop is O(n^2)
      for i = 1, nargs do
        local c = args[i]
        if c ~= nil then count = add(n, count, c) end
      end
    end
    if count == 1 then return n[1] end
    return n
  end
end
M.and_ = conjunction(K.AND, "and_()")
M.or_ = conjunction(K.OR, "or_()")
function M.not_(x)
  x = criterion(x, "not_()", 2)
  return setmetatable({ k = K.UNARY, s = "NOT", x, type = BOOL }, Expr)
end
Expr.__band = function(a, b) return M.and_(a, b) end
Expr.__bor = function(a, b) return M.or_(a, b) end
Expr.__bnot = function(a) return M.not_(a) end

------------------------------------------------------------- constructors

--- ath.literal(v [, type]): a value, still bound (never SQL text).
function M.literal(value, ty)
  local n = bind(value, ty and { type = ty } or nil, 2)
  n.type = ty
  return n
end

--- ath.literal_column("text"): SQL text used as a column (the programmer's text).
function M.literal_column(text, ty)
  if type(text) ~= "string" then errors.raise("ArgumentError", 2, "literal_column() expects SQL text, got %s", type(text)) end
  return setmetatable({ k = K.TEXT, s = text, type = ty, name = text }, Expr)
end

--- ath.bindparam("name" [, value [, type]]): a named parameter, its value
-- given now or at execution (`conn:execute(stmt, { name = v })`).
function M.bindparam(name, value, ty)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    errors.raise("ArgumentError", 2, "bindparam() expects a name of letters, digits and _, got %s", tostring(name))
  end
  if value == nil then
    return setmetatable({ k = K.BIND, s = name, f = K.F_NAMED, type = ty, name = name }, Expr)
  end
  local n = bind(value, ty and { type = ty, name = name } or nil, 2)
  n.s = name
  return n
end

local NOPARENS = { current_timestamp = true, current_date = true, current_time = true,
                   localtime = true, localtimestamp = true, current_user = true, session_user = true }
local RETURN_TYPES = { count = types.Integer, avg = types.Float, length = types.Integer,
                       char_length = types.Integer, lower = types.String, upper = types.String,
                       now = types.DateTime, current_timestamp = types.DateTime, current_date = types.Date }
local SAME_TYPE = { max = true, min = true, sum = true, abs = true, coalesce = true, round = false }

--- ath.func.<name>(args...): any SQL function. func.count() is count(*).
M.func = setmetatable({}, { __index = function(_, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    errors.raise("ArgumentError", 2, "ath.func.%s: not a valid SQL function name", tostring(name))
  end
  return function(...)
    local n = setmetatable({ k = K.FUNC, s = name, name = name }, Expr)
    local lname = name:lower()
    if NOPARENS[lname] and select("#", ...) == 0 then
      n.s = name:upper()
      n.f = K.F_NOPARENS
    end
    for i = 1, select("#", ...) do n[i] = coerce((select(i, ...)), nil, 2) end
    if lname == "count" and #n == 0 then n[1] = setmetatable({ k = K.STAR }, Expr) end
    n.type = RETURN_TYPES[lname] or (SAME_TYPE[lname] and n[1] and n[1].type) or nil
    return n
  end
end })

--- ath.case({ {cond, value}, ... }, { else_ = v })
function M.case(whens, opts)
  if type(whens) ~= "table" or #whens == 0 then
    errors.raise("ArgumentError", 2, "case() expects an array of {condition, value} pairs")
  end
  local n = setmetatable({ k = K.CASE }, Expr)
  for i, w in ipairs(whens) do
    if type(w) ~= "table" or w[1] == nil or w[2] == nil then
      errors.raise("ArgumentError", 2, "case(): when #%d must be {condition, value}", i)
    end
    n[#n + 1] = criterion(w[1], "case() condition", 2)
    local v = coerce(w[2], nil, 2)
    n[#n + 1] = v
    n.type = n.type or v.type
  end
  if opts and opts.else_ ~= nil then
    n[#n + 1] = coerce(opts.else_, nil, 2)
    n.f = K.F_ELSE
  end
  return n
end

--- ath.exists(select)
function M.exists(sel)
  if not M.is_selectable(sel) then
    errors.raise("ArgumentError", 2, "exists() expects a select, got %s", type(sel))
  end
  return setmetatable({ k = K.UNARY, s = "EXISTS", sel:_as_select(), type = BOOL }, Expr)
end

--- Expressions print as SQL in the default dialect.
function Expr:__tostring()
  local sql = core.compile(self, "sqlite", nil, false)
  return sql
end

--- The SQL NULL node (for ath.null in places an expression goes).
M.null_node = NULL_NODE

-- Columns of schema tables are expressions: they get every operator.
for name, fn in pairs(Expr) do
  if name ~= "__index" and name ~= "__name" and name ~= "__tostring" and Column[name] == nil then
    Column[name] = fn
  end
end

return M
