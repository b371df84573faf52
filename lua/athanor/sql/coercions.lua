--- Argument coercion (docs/coercion.md): the one place where Core decides
-- what an argument stands for, by the role it plays (SQLAlchemy's
-- `roles`/`coercions`). Every entry point of the expression language and
-- Connection:execute() hands its arguments to a function below.
--
-- The protocol, SQLAlchemy's `__clause_element__`: a Lua table x for which
-- `x.__clause_element__` (a field, or found through its metatable's
-- __index) is a function stands for the Core element
-- `x:__clause_element__()` returns: a column expression, a FROM element
-- (Table, alias, join, subquery, CTE), a select, or a statement. The answer
-- may itself implement the protocol (followed up to MAX_DEPTH times); nil
-- means x stands for nothing (an ORM instance inheriting its class's
-- method) and x is then an ordinary value. Core
-- needs no other knowledge of such objects: ORM models and their
-- attributes implement it.
--
-- Core's own classes are recognised by their metatables (register_node_class)
-- and keep internal markers (`_from` on FROM elements, `_selectable` on
-- selects, `_ath_execute` on statements); those are read only here and in
-- the classes themselves.
local core = require("athanor.core")
local errors = require("athanor.errors")
local text = require("athanor.text")

local type, getmetatable, pairs, tostring = type, getmetatable, pairs, tostring

local K = core.node_kinds
local TextClause = text.TextClause

local M = {}

--------------------------------------------------------------- Core's own

local NODE_CLASSES = {}          -- metatable -> true
-- Classes made per statement shape (the fused point select's, one per
-- table, column and operator: sql/selectable.lua), held weakly so that they
-- go with their table.
local SHAPE_CLASSES = setmetatable({}, { __mode = "k" })

--- Make mt's tables nodes (a class of athanor's own: Expr, Table, Select...).
-- per_shape: a class made for one statement shape, released with it.
function M.register_node_class(mt, per_shape)
  if per_shape then SHAPE_CLASSES[mt] = true else NODE_CLASSES[mt] = true end
  core.register_node_metatable(mt, per_shape)
end

--- True for anything the compiler can render (expressions, columns, tables,
-- selects): a table whose metatable is a registered node class. A user's
-- object or JSON document holding a field `k` is a value, never a node.
local function is_node(x)
  if type(x) ~= "table" then return false end
  local mt = getmetatable(x)
  return NODE_CLASSES[mt] == true or SHAPE_CLASSES[mt] == true
end
M.is_node = is_node

--- True for an ath.text() construct.
local function is_text(x)
  return type(x) == "table" and getmetatable(x) == TextClause
end
M.is_text = is_text

--- True for a FROM element (table, alias, join, subquery, CTE) / a select
-- or compound select.
local function is_from(x) return is_node(x) and x._from == true end
local function is_selectable(x) return is_node(x) and x._selectable == true end
M.is_from, M.is_selectable = is_from, is_selectable

--- True for something Connection:execute() runs (select, insert, update,
-- delete, text).
local function is_executable(x) return type(x) == "table" and x._ath_execute ~= nil end
M.is_executable = is_executable

-- The value nodes elements.lua builds (bind, true/false, NULL); set by
-- M.install once elements.lua has defined them (it requires this module).
local bind, TRUE, FALSE, NULL_NODE

--- Called once by athanor.sql.elements with its value constructors.
function M.install(el)
  bind, TRUE, FALSE, NULL_NODE = el.bind, el.true_, el.false_, el.null_node
end

----------------------------------------------------------------- protocol

local MAX_DEPTH = 8

local function is_core(x) return is_node(x) or is_text(x) or is_executable(x) end

-- How a refused value is shown in a message.
local function shown(x)
  local tx = type(x)
  if tx == "string" then return "the Lua string " .. errors.show_value(x) end
  if tx ~= "table" then return tx == "nil" and "nil" or (tx .. " " .. errors.show_value(x)) end
  local mt = getmetatable(x)
  local name = type(mt) == "table" and mt.__name or nil
  if type(name) == "string" then return name end
  if x.__clause_element__ ~= nil then return "an object with __clause_element__" end
  return "a table without __clause_element__ " .. errors.show_value(x)
end
M.shown = shown

--- The Core element x stands for: x itself when it is one of Core's own
-- (a node, ath.text(), a statement), what its __clause_element__ returns
-- otherwise, or nil when x is neither (or its __clause_element__ answered nil).
-- @raise ArgumentError when __clause_element__ returns something that is
--   not a Core element (or the chain is longer than MAX_DEPTH)
function M.clause_element(x, level)
  if type(x) ~= "table" then return nil end
  local depth, asked = 0, x
  while not is_core(x) do
    local fn = type(x) == "table" and x.__clause_element__ or nil
    if depth == 0 then
      if fn == nil then return nil end         -- not a protocol object
    elseif fn == nil or depth > MAX_DEPTH then  -- the answer is neither Core's nor another protocol object
      errors.raise("ArgumentError", (level or 1) + 1,
        "__clause_element__ of %s returned %s, not a Core element (a column, table, select or statement)",
        shown(asked), depth > MAX_DEPTH and "another protocol object too many times" or shown(x))
    end
    local got = fn(x)
    if got == nil then
      if depth == 0 then return nil end        -- "I stand for nothing": x is a value
      got = false                              -- (refused on the next turn)
    end
    depth = depth + 1
    x = got
  end
  return x
end
local clause_element = M.clause_element

-- x resolved through the protocol when it is a table Core does not know.
local function resolve(x, level)
  if type(x) == "table" and not is_core(x) then return clause_element(x, level + 1) or x end
  return x
end
M.resolve = resolve

------------------------------------------------------------------- roles
-- Each role names what is accepted, for the ArgumentError of a refusal.

M.ROLES = {
  ColumnsClauseRole = "columns, tables or expressions",
  ExpressionElementRole = "a column or expression",
  WhereHavingRole = "a SQL expression (a column comparison, ath.text(), true or false)",
  OrderByRole = "columns, expressions or ath.text()",
  FromClauseRole = "a table, alias, join, subquery or CTE",
  JoinTargetRole = "a table, alias, join, subquery or CTE",
  DMLTableRole = "a Table",
  SelectStatementRole = "a select",
  StatementRole = "a statement (ath.select, ath.insert, ath.update, ath.delete, ath.text)",
  DMLColumnRole = "a column name or a column of the table",
}
local ROLES = M.ROLES

--- Raise the ArgumentError of a refused argument: what refused it, the
-- role, what the role accepts, and the value (and what it stands for).
-- @param what the entry point ("join()", "where()")
function M.refuse(role, what, x, level, hint)
  local got = shown(x)
  if type(x) == "table" and not is_core(x) then
    local ok, e = pcall(clause_element, x)
    if ok and e ~= nil then got = got .. " standing for " .. shown(e) end
  end
  errors.raise("ArgumentError", level + 1, "%s expects %s (%s, or an object whose __clause_element__ returns one), got %s%s",
    what, ROLES[role], role, got, hint or "")
end
local refuse = M.refuse

--- ExpressionElementRole: a column or expression node (ath.text() becomes a
-- TEXT node). FROM elements are refused (they are not one value).
function M.to_column_expr(x, what, level)
  if is_node(x) and not x._from then return x end
  local e = resolve(x, level + 1)
  if is_text(e) then return e:_as_node() end
  if is_node(e) and not e._from then return e end
  return refuse("ExpressionElementRole", what, x, level + 1)
end

--- ColumnsClauseRole: what a select list or RETURNING takes. A FROM element
-- (not a join) expands to its columns. Appends to out and returns the FROM
-- element the item names (the element itself, or a column's table).
function M.add_columns_clause(out, x, what, level)
  local e = x
  if not is_node(e) then
    e = resolve(x, level + 1)
    if is_text(e) then out[#out + 1] = e:_as_node() return nil end
    if not is_node(e) then
      return refuse("ColumnsClauseRole", what, x, level + 1, type(x) ~= "table" and " (wrap a value with ath.literal())" or nil)
    end
  end
  if e._from and e.k ~= K.JOIN then
    local cols = e.columns
    for i = 1, #cols do out[#out + 1] = cols[i] end
    return e
  end
  out[#out + 1] = e
  return e.k == K.COLUMN and e.t or nil
end

--- WhereHavingRole: a criterion (WHERE, HAVING, ON, and_/or_/not_, CASE
-- WHEN, FILTER): an expression, ath.text(), a boolean, or ath.null. A Lua
-- string is refused (SQLAlchemy: "Textual SQL expression ... should be
-- explicitly declared as text()"); bound as a value it would make the
-- predicate a constant string, true on SQLite for every row.
function M.to_criterion(x, what, level)
  if is_node(x) then return x end
  local tx = type(x)
  if tx == "boolean" then return x and TRUE or FALSE end
  if x == errors.null then return NULL_NODE end
  if tx == "string" then
    local s = errors.show_value(x)
    errors.raise("ArgumentError", level + 1,
      "%s: textual SQL %s must be declared as ath.text(%s); a Lua string is never SQL", what, s, s)
  end
  local e = resolve(x, level + 1)
  if is_text(e) then return e:_as_node() end
  if is_node(e) and not e._from then return e end
  return refuse("WhereHavingRole", what, x, level + 1)
end

--- OrderByRole (ORDER BY, GROUP BY): columns, expressions (a label of the
-- columns clause is rendered by its name) and ath.text(); a Lua string is
-- refused, it is never SQL.
function M.to_order_by(x, what, level)
  if is_node(x) and not x._from then return x end
  local e = resolve(x, level + 1)
  if is_text(e) then return e:_as_node() end
  if is_node(e) and not e._from then return e end
  if type(x) == "string" then
    local s = errors.show_value(x)
    return refuse("OrderByRole", what, x, level + 1, ": textual SQL must be declared as ath.text(" .. s .. ")")
  end
  return refuse("OrderByRole", what, x, level + 1)
end

--- ExpressionElementRole for an operand: nodes stay, ath.text() becomes a
-- node, a protocol object becomes its element, anything else is a value,
-- bound (typed like `like`).
function M.to_operand(x, like, level)
  if is_node(x) then return x end
  if type(x) == "table" then
    if is_text(x) then return x:_as_node() end
    local e = clause_element(x, (level or 2) + 1)
    if e ~= nil then
      if is_text(e) then return e:_as_node() end
      if is_node(e) then return e end
      return refuse("ExpressionElementRole", "an operand", x, (level or 2) + 1)
    end
  end
  return bind(x, like, (level or 2) + 1)
end

-- x, or what it stands for, when `accepts` it; refused in `role` otherwise.
local function expect(accepts, role, x, what, level, hint)
  if accepts(x) then return x end
  local e = resolve(x, level + 1)
  if accepts(e) then return e end
  return refuse(role, what, x, level + 1, hint and hint(e))
end

local function subquery_hint(e)
  return is_selectable(e) and " (call :subquery() to use a select as a FROM element)" or nil
end

--- FromClauseRole / JoinTargetRole: a table, alias, join, subquery or CTE.
function M.to_from(x, what, level, role)
  if is_from(x) then return x end
  return expect(is_from, role or "FromClauseRole", x, what, level + 1, subquery_hint)
end

--- DMLTableRole: the Table an INSERT, UPDATE or DELETE writes to.
local Table = require("athanor.schema")._Table
local function is_table(x) return getmetatable(x) == Table end
function M.to_dml_table(x, what, level)
  return expect(is_table, "DMLTableRole", x, what, level + 1)
end

--- SelectStatementRole: a select or compound select (IN, EXISTS, ANY,
-- UNION, INSERT ... FROM SELECT).
function M.to_select(x, what, level)
  return expect(is_selectable, "SelectStatementRole", x, what, level + 1)
end

--- Like to_select, but nil when x is a value rather than an element
-- (in_() takes an array of values too); an object standing for something
-- other than a select is refused.
function M.as_select(x, what, level)
  if is_selectable(x) then return x end
  if type(x) ~= "table" or is_node(x) then return nil end
  local e = clause_element(x, level + 1)
  if e == nil then return nil end
  if is_selectable(e) then return e end
  return refuse("SelectStatementRole", what, x, level + 1)
end

--- StatementRole: what Connection:execute() runs.
function M.to_executable(x, what, level)
  if type(x) == "string" then
    errors.raise("ArgumentError", level + 1,
      "%s takes a statement object; wrap SQL text in ath.text(...) or use conn:exec_driver_sql()", what)
  end
  return expect(is_executable, "StatementRole", x, what, level + 1)
end

--- DMLColumnRole: a key of values{...} (INSERT, UPDATE, ON CONFLICT SET):
-- a column name of table t, or a column of t (or an object standing for
-- one). Returns the column's name.
function M.to_column_key(t, key, what, level)
  if type(key) == "string" then
    if t.c[key] then return key end
  else
    local e = resolve(key, level + 1)
    if is_node(e) and e.k == K.COLUMN and t.c[e.name] == e then return e.name end
    if type(key) == "table" then return refuse("DMLColumnRole", what .. " of table '" .. tostring(t.name) .. "'", key, level + 1) end
  end
  errors.raise("ArgumentError", level + 1, "Table '%s' has no column '%s'", t.name, tostring(key))
end

--- The keys of a values table as column names of t: the table itself when
-- every key is already a name (the common case: no copy), else a copy
-- keyed by name.
function M.column_keys(t, row, what, level)
  local c = t.c
  local renamed
  for key in pairs(row) do
    if type(key) ~= "string" or not c[key] then
      renamed = true
      M.to_column_key(t, key, what, level + 1)      -- raises for a key that is not a column
    end
  end
  if not renamed then return row end
  local out = {}
  for key, v in pairs(row) do
    local name = type(key) == "string" and key or M.to_column_key(t, key, what, level + 1)
    if out[name] ~= nil then
      errors.raise("ArgumentError", level + 1, "%s: column '%s' is given twice", what, name)
    end
    out[name] = v
  end
  return out
end

return M
