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

local K = core.node_kinds
local type, setmetatable, getmetatable, select, tostring, ipairs, tonumber =
  type, setmetatable, getmetatable, select, tostring, ipairs, tonumber

local M = { K = K }

local Expr = { __name = "athanor.Expression" }
Expr.__index = Expr
M.Expr = Expr

local Column = schema._Column

-- What is a node, and what an argument stands for, is decided in
-- athanor.sql.coercions (the __clause_element__ protocol and the roles).
local coercions = require("athanor.sql.coercions")
M.register_node_class = coercions.register_node_class
M.register_node_class(Expr)
M.register_node_class(Column)
M.register_node_class(schema._Table)
local is_node, is_text = coercions.is_node, coercions.is_text
M.is_node, M.is_text = is_node, is_text
M.is_from, M.is_selectable = coercions.is_from, coercions.is_selectable

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

--- The node for an operand: nodes stay, values are bound (typed like
-- `like`); ath.text() and protocol objects become their nodes.
local coerce = coercions.to_operand
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
-- coercions.to_criterion (WhereHavingRole).
-- @param role what takes the criterion, for the message ("where()")
local function criterion(x, role, level)
  return coercions.to_criterion(x, role, (level or 2) + 1)
end
M.criterion = criterion

------------------------------------------------------------------- operators

local function binary(op, l, r, ty)
  return setmetatable({ k = K.BINARY, s = op, l, r, type = ty }, Expr)
end
M.binary = binary

local BOOL = types.Boolean

local K_BINARY, K_BIND, K_POSTFIX = K.BINARY, K.BIND, K.POSTFIX

-- The bind checks that pass a value of this Lua type unchanged when
-- compared (no call needed): an Integer column compared with any number
-- (a float stays a float), a String with a string, a Float with a number.
local COMPARE_PASSES = {}
for proc, lua_type in pairs(types._plain_binds) do
  if lua_type ~= "integer" then COMPARE_PASSES[proc] = lua_type end
end
COMPARE_PASSES[types.Integer._compare_bind] = "number"

-- A comparison of an expression with a plain value (col:eq(5)) is built
-- here and nowhere else, as a node of its operator's own class (a
-- PlainCompare class, one per operator: PLAIN_COMPARE_OP maps each to its
-- operator): a BINARY of the operator alone whose right operand is an
-- unnamed, untyped, uncast BIND of the value (nothing else in either node,
-- which are never modified once built). Select:where (sql/selectable.lua)
-- relies on the classes for its fused point select. It is an Expr in every
-- other way: the same methods and metamethods (copied at the end of this
-- file).
-- On Lua 5.3+ the node is { left, v = value }: its k, s (the operator) and
-- type come from its class (which also holds them at __node_fields, where
-- the C converter reads them), and the BIND is made only when something
-- reads it: node[2] (also through ipairs), #node and pairs(node) make the
-- BIND then, as the node always had it (__index, __len, __pairs; pairs also
-- sets k, s and type in the node); the C compiler reads such a node
-- directly (l_convert.c). On Lua 5.4, where a table costs ~1.6k
-- instructions and each field of its hash part ~0.2k more, that saves a
-- table and three fields per comparison. LuaJIT, whose # and pairs()
-- ignore metamethods on tables, builds the whole node at once.
local LAZY_BIND = math.type ~= nil
local rawget, rawset, next = rawget, rawset, next
local PLAIN_COMPARE_OP = {}
M.PLAIN_COMPARE_OP = PLAIN_COMPARE_OP

-- The BIND of a lazy comparison, made (once) and kept in slot 2.
local function plain_bind(cmp)
  local b = rawget(cmp, 2)
  if b == nil then
    b = setmetatable({ k = K_BIND, v = rawget(cmp, "v") }, Expr)
    rawset(cmp, 2, b)
  end
  return b
end

local function plain_compare_class(op)
  local class = { __name = Expr.__name }
  if LAZY_BIND then
    local fields = setmetatable({ k = K_BINARY, s = op, type = BOOL }, { __index = Expr })
    class.__node_fields = fields
    class.__index = function(cmp, key)
      if key == 2 then return plain_bind(cmp) end
      return fields[key]
    end
    class.__len = function() return 2 end
    class.__pairs = function(cmp)
      plain_bind(cmp)
      rawset(cmp, "k", K_BINARY); rawset(cmp, "s", op); rawset(cmp, "type", BOOL)
      return next, cmp, nil
    end
  else
    class.__index = Expr
  end
  M.register_node_class(class)
  PLAIN_COMPARE_OP[class] = op
  return class
end

local function comparison(op, null_op)
  local class = plain_compare_class(op)
  return function(self, other)
    local to = type(other)
    if to == "number" or to == "string" or to == "boolean" then   -- the hot path: a plain value
      local ty = self.type
      local proc = ty and (ty._compare_bind or ty._bind)   -- a float against an Integer stays a float
      if proc and COMPARE_PASSES[proc] ~= to then other = proc(other, self.name) end
      if LAZY_BIND then return setmetatable({ self, v = other }, class) end
      return setmetatable({ k = K_BINARY, s = op, self, setmetatable({ k = K_BIND, v = other }, Expr), type = BOOL },
                          class)
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

-- The ESCAPE clause of like(pattern, { escape = c }): one character, spelled
-- as a SQL string literal (quotes doubled), as SQLAlchemy renders it.
local function escape_clause(opts, level)
  if type(opts) ~= "table" then
    errors.raise("ArgumentError", level + 1, "like(): the options must be a table such as { escape = '/' }, got %s",
      type(opts))
  end
  local c = opts.escape
  if c == nil then return nil end
  if type(c) ~= "string" or #c ~= 1 then
    errors.raise("ArgumentError", level + 1, "like(): escape must be a single character, got %s", errors.show_value(c))
  end
  return setmetatable({ k = K.TEXT, s = "'" .. c:gsub("'", "''") .. "'" }, Expr)
end

-- LIKE patterns are strings whatever the column's type.
local function like_op(op)
  return function(self, pattern, opts)
    local p = coerce(pattern, nil, 2)
    local esc = opts ~= nil and escape_clause(opts, 2) or nil
    if esc then p = binary("ESCAPE", p, esc) end
    return binary(op, self, p, BOOL)
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
  -- IS TRUE / IS FALSE take the keyword, as SQLAlchemy renders them: a
  -- bound boolean after IS is a syntax error on PostgreSQL
  if type(other) == "boolean" then other = other and M.true_ or M.false_ end
  return binary("IS", self, compared(other, self, 2), BOOL)
end
function Expr:is_not(other)
  if other == errors.null or other == nil then
    return setmetatable({ k = K.POSTFIX, s = "IS NOT NULL", self, type = BOOL }, Expr)
  end
  if type(other) == "boolean" then other = other and M.true_ or M.false_ end
  return binary("IS NOT", self, compared(other, self, 2), BOOL)
end

-- One row of tuple_(a, b):in_{ {1, 2}, ... }: a LIST of values typed like the tuple's elements.
local function tuple_row(tuple, row, i, level)
  local width = #tuple
  if type(row) ~= "table" or is_node(row) or #row ~= width then
    errors.raise("ArgumentError", level + 1, "tuple_():in_() expects rows of %d values; row #%d is %s", width, i,
      type(row) == "table" and (#row .. " values") or type(row))
  end
  local l = setmetatable({ k = K.LIST }, Expr)
  for j = 1, width do l[j] = coerce(row[j], tuple[j], level + 1) end
  return l
end

local function in_op(negate)
  return function(self, values)
    local n = setmetatable({ k = K.IN, f = negate and K.F_NEGATE or nil, self, type = BOOL }, Expr)
    local sel = coercions.as_select(values, negate and "not_in()" or "in_()", 2)
    if sel then
      n[2] = sel
      return n
    end
    if type(values) ~= "table" or is_node(values) then
      errors.raise("ArgumentError", 2, "in_() expects an array of values or a select, got %s", type(values))
    end
    if self.k == K.LIST then                       -- ath.tuple_(a, b):in_{ {1, 2}, {3, 4} }
      for i = 1, #values do n[i + 1] = tuple_row(self, values[i], i, 2) end
      return n
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

------------------------------------------------------ window functions, FILTER

-- One end of a window frame: nil is UNBOUNDED, 0 CURRENT ROW, -n n PRECEDING,
-- n n FOLLOWING (SQLAlchemy's rows=/range_= tuples). Spelled in the SQL text
-- as an integer, so the frame is part of the statement's cached shape.
local function frame_bound(v, unbounded, what, level)
  if v == nil or v == errors.null then return "UNBOUNDED " .. unbounded end
  if type(v) ~= "number" or v ~= math.floor(v) or v ~= v or v == math.huge or v == -math.huge then
    errors.raise("ArgumentError", level + 1, "over(): %s bounds must be integers or nil (unbounded), got %s", what,
      errors.show_value(v))
  end
  if v == 0 then return "CURRENT ROW" end
  local n = string.format("%d", v < 0 and -v or v)
  return n .. (v < 0 and " PRECEDING" or " FOLLOWING")
end

local function frame(spec, what, level)
  if type(spec) ~= "table" or is_node(spec) then
    errors.raise("ArgumentError", level + 1, "over(): %s must be a pair {start, end}, got %s", what, type(spec))
  end
  return (what == "rows" and "ROWS" or "RANGE") .. " BETWEEN " .. frame_bound(spec[1], "PRECEDING", what, level + 1)
    .. " AND " .. frame_bound(spec[2], "FOLLOWING", what, level + 1)
end

-- partition_by / order_by of over() and within_group(): one expression or an array of them.
local function expr_list(x, what, level)
  if x == nil then return false end
  local l = setmetatable({ k = K.LIST }, Expr)
  local items = x
  if type(x) ~= "table" or getmetatable(x) ~= nil or rawget(x, "__clause_element__") then items = { x } end
  for i = 1, #items do l[i] = coercions.to_column_expr(items[i], what, level + 1) end
  return l
end

local OVER_KEYS = { partition_by = true, order_by = true, rows = true, range = true, range_ = true }

--- f:over{ partition_by = ..., order_by = ..., rows = {-2, 0} | range = {nil, 0} }:
-- a window function call, f OVER (PARTITION BY ... ORDER BY ... frame).
-- @raise ArgumentError for an unknown option, both rows and range, or a non-integer bound
function Expr:over(opts)
  if self.k ~= K.FUNC and self.k ~= K.FILTER and self.k ~= K.WITHIN_GROUP then
    errors.raise("ArgumentError", 2, "over() applies to a function such as ath.func.row_number(), not to %s",
      self.name and ("'" .. tostring(self.name) .. "'") or "this expression")
  end
  opts = opts or {}
  if type(opts) ~= "table" then errors.raise("ArgumentError", 2, "over() expects a table of options, got %s", type(opts)) end
  for key in pairs(opts) do
    if not OVER_KEYS[key] then
      errors.raise("ArgumentError", 2, "over(): unknown option '%s' (partition_by, order_by, rows, range)", tostring(key))
    end
  end
  local range = opts.range or opts.range_
  if opts.rows ~= nil and range ~= nil then
    errors.raise("ArgumentError", 2, "over(): give rows or range, not both")
  end
  local fr = (opts.rows ~= nil and frame(opts.rows, "rows", 2)) or (range ~= nil and frame(range, "range", 2)) or nil
  return setmetatable({ k = K.OVER, s = fr, self, expr_list(opts.partition_by, "over(): partition_by", 2),
                        expr_list(opts.order_by, "over(): order_by", 2), type = self.type }, Expr)
end

--- agg:filter(cond): agg FILTER (WHERE cond) (MySQL: CASE inside the aggregate).
function Expr:filter(...)
  if self.k ~= K.FUNC then
    errors.raise("ArgumentError", 2, "filter() applies to an aggregate function such as ath.func.count()")
  end
  local crit = select("#", ...) > 1 and M.and_(...) or criterion((...), "filter()", 2)
  return setmetatable({ k = K.FILTER, self, crit, type = self.type, name = self.name }, Expr)
end

--- f:within_group(order_by...): an ordered-set aggregate, f WITHIN GROUP (ORDER BY ...).
function Expr:within_group(...)
  if self.k ~= K.FUNC then
    errors.raise("ArgumentError", 2, "within_group() applies to a function such as ath.func.percentile_cont(0.5)")
  end
  if select("#", ...) == 0 then errors.raise("ArgumentError", 2, "within_group() expects at least one ORDER BY expression") end
  local order = expr_list({ ... }, "within_group()", 2)
  local first = order[1]
  local ty = self.type or (first.k == K.POSTFIX and first[1].type or first.type)
  return setmetatable({ k = K.WITHIN_GROUP, self, order, type = ty, name = self.name }, Expr)
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

-- A CAST names its target type and the compiler spells it for the dialect
-- in use (csrc/sql/ath_cast.c: MySQL has CHAR where the others have VARCHAR,
-- no VARCHAR without a length, ...): s is the type with the arguments it
-- was configured with, s2 an Enum's type name on PostgreSQL.
local function cast_target(ty)
  local name = ty._name
  if name == "String" and ty.length then return ("String(%d)"):format(ty.length) end
  if name == "Numeric" and ty.precision then
    return ty.scale and ("Numeric(%d, %d)"):format(ty.precision, ty.scale) or ("Numeric(%d)"):format(ty.precision)
  end
  if name == "DateTime" and ty.timezone then return "DateTime(timezone)" end
  if name == "Enum" and ty.max_length then return ("Enum(%d)"):format(ty.max_length), ty.enum_name end
  return name
end

local function cast(x, ty, level)
  if not types.is_type(ty) then
    errors.raise("ArgumentError", (level or 2) + 1, "cast() expects an athanor type (ath.Integer, ...), got %s", tostring(ty))
  end
  local expr = coerce(x, nil, (level or 2) + 1)
  local target, type_name = cast_target(ty)
  return setmetatable({ k = K.CAST, s = target, s2 = type_name, expr, type = ty }, Expr)
end
function Expr:cast(ty) return cast(self, ty, 2) end
M.cast = function(x, ty) return cast(x, ty, 2) end

-- Integer types: `/` casts its right operand so that 5/2 is 2.5 as in Lua.

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
  if (lt == nil or lt._affinity == types.Integer) and (rt == nil or rt._affinity == types.Integer) then
    -- "Double": REAL / DOUBLE PRECISION / DOUBLE (csrc/sql/ath_cast.c)
    right = setmetatable({ k = K.CAST, s = "Double", right, type = types.Float }, Expr)
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

-- Types whose values travel to the driver as text: a database would take
-- such a literal as text where nothing in the statement types it (a select
-- list, a CASE result), so a dialect with bind casts (PostgreSQL) casts it
-- there, as SQLAlchemy's render_bind_cast does ($1::JSONB). Integers,
-- floats, booleans and bytes need no cast: the driver sends their type with
-- the value.
local CAST_WHEN_TEXT = { Numeric = true, Date = true, DateTime = true, Time = true, JSON = true, Uuid = true }

-- The type n is cast to (s2 of a BIND: an athanor type the dialect spells), for a type ty.
local function typed_bind(n, ty)
  if ty and CAST_WHEN_TEXT[ty._name] then n.s2 = cast_target(ty) end
  return n
end

--- ath.literal(v [, type]): a value, still bound (never SQL text).
-- Untyped, a boolean is a Boolean (SQLAlchemy types a literal from its
-- Python value): SQLite hands the 1/0 it stores back as true/false.
function M.literal(value, ty)
  local n = bind(value, ty and { type = ty } or nil, 2)
  n.type = ty or (type(value) == "boolean" and types.Boolean or nil)
  return typed_bind(n, ty)
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
    return typed_bind(setmetatable({ k = K.BIND, s = name, f = K.F_NAMED, type = ty, name = name }, Expr), ty)
  end
  local n = bind(value, ty and { type = ty, name = name } or nil, 2)
  n.s = name
  return typed_bind(n, ty)
end

local NOPARENS = { current_timestamp = true, current_date = true, current_time = true,
                   localtime = true, localtimestamp = true, current_user = true, session_user = true }
local RETURN_TYPES = { count = types.Integer, avg = types.Float, length = types.Integer,
                       row_number = types.Integer, rank = types.Integer, dense_rank = types.Integer,
                       ntile = types.Integer, percent_rank = types.Float, cume_dist = types.Float,
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

--- ath.distinct(x): DISTINCT x, as in count(DISTINCT x).
function M.distinct(x)
  local e = coerce(x, nil, 2)
  return setmetatable({ k = K.UNARY, s = "DISTINCT", e, type = e.type }, Expr)
end

local EXTRACT_FIELDS = { year = true, month = true, day = true, hour = true, minute = true, second = true,
                         doy = true, dow = true, week = true, epoch = true, quarter = true,
                         microsecond = true, millisecond = true }

-- EXTRACT's result: an integer on every backend (PostgreSQL answers numeric,
-- which its driver hands over as text; an epoch with a fraction stays a float).
local tointeger = math.tointeger or function(x) return x end
local ExtractResult = setmetatable({ _name = "Integer", _kind = "type", _bind = types.Integer._bind,
  _result = function(v)
    if type(v) ~= "string" then return v end
    local n = tonumber(v)
    return n and (tointeger(n) or n) or v
  end }, types.TypeEngine)

--- ath.extract("year", x): EXTRACT(year FROM x) (SQLite: strftime), an Integer.
-- @raise ArgumentError for a field not in year, month, day, hour, minute, second, doy, dow, week, epoch,
-- quarter, microsecond, millisecond
function M.extract(field, x)
  local f = type(field) == "string" and field:lower() or nil
  if not f or not EXTRACT_FIELDS[f] then
    local names = {}
    for name in pairs(EXTRACT_FIELDS) do names[#names + 1] = name end
    table.sort(names)
    errors.raise("ArgumentError", 2, "extract(): unknown field %s (one of %s)", errors.show_value(field),
      table.concat(names, ", "))
  end
  return setmetatable({ k = K.EXTRACT, s = f, coerce(x, nil, 2), type = ExtractResult, name = f }, Expr)
end

--- ath.tuple_(a, b, ...): a row value, (a, b), for tuple_(a, b):in_{ {1, 2}, {3, 4} }.
function M.tuple_(...)
  local n = select("#", ...)
  if n == 0 then errors.raise("ArgumentError", 2, "tuple_() expects at least one expression") end
  local l = setmetatable({ k = K.LIST }, Expr)
  for i = 1, n do l[i] = coerce((select(i, ...)), nil, 2) end
  return l
end

-- ANY (x) / ALL (x): compared with a value, the value goes on the left
-- (`any_(arr):eq(3)` is `? = ANY (arr)`, as in SQLAlchemy).
local Quantified = { __name = "athanor.Quantified" }
Quantified.__index = Quantified
M.register_node_class(Quantified)
for k, v in pairs(Expr) do if Quantified[k] == nil then Quantified[k] = v end end
Quantified.__index = Quantified
local SWAPPED = { eq = "eq", ne = "ne", lt = "gt", le = "ge", gt = "lt", ge = "le" }
for name, mirrored in pairs(SWAPPED) do
  Quantified[name] = function(self, other)
    local left = coerce(other, self, 2)
    return Expr[mirrored](left, self)
  end
end

local function quantifier(word)
  return function(x)
    local e = coercions.resolve(x, 2)            -- a select, or an array expression or value
    if not M.is_selectable(e) then e = coerce(e, nil, 2) end
    return setmetatable({ k = K.UNARY, s = word, e }, Quantified)
  end
end
--- ath.any_(x) / ath.all_(x): ANY (x) / ALL (x) of an array or a subquery (PostgreSQL; MySQL: subqueries).
M.any_ = quantifier("ANY")
M.all_ = quantifier("ALL")

--- ath.exists(select)
function M.exists(sel)
  sel = coercions.to_select(sel, "exists()", 2)
  return setmetatable({ k = K.UNARY, s = "EXISTS", sel, type = BOOL }, Expr)
end

--- Expressions print as SQL in the default dialect.
function Expr:__tostring()
  local sql = core.compile(self, "sqlite", nil, false)
  return sql
end

-- A comparison of a PlainCompare class is an Expr: its metamethods
-- (operators, __tostring).
for class in pairs(PLAIN_COMPARE_OP) do
  for name, fn in pairs(Expr) do
    if name:sub(1, 2) == "__" and class[name] == nil then class[name] = fn end
  end
end

--- The SQL NULL node (for ath.null in places an expression goes).
M.null_node = NULL_NODE
coercions.install(M)

--- The methods a column of a schema table gets (applied to Column in
-- athanor.sql): every operator and method of Expr, as columns are expressions.
function M.column_methods()
  local out = {}
  for name, fn in pairs(Expr) do
    if name ~= "__index" and name ~= "__name" and name ~= "__tostring" then out[name] = fn end
  end
  return out
end

return M
