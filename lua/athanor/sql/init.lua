--- The SQL expression language (API.md §4): public names, compilation and
-- execution. Statements compile in C (athanor.core.compile): the tree is
-- keyed by its structure, rendered only when that key is new, and executed
-- with its values bound — never interpolated.
local core = require("athanor.core")
local errors = require("athanor.errors")
local el = require("athanor.sql.elements")
local sel = require("athanor.sql.selectable")
local dml = require("athanor.sql.dml")
local text = require("athanor.text")
local dialects = require("athanor.dialects")

local compile = core.compile
local type, ipairs, setmetatable = type, ipairs, setmetatable

local M = {
  select = sel.select, insert = dml.insert, update = dml.update, delete = dml.delete,
  union = sel.union, union_all = sel.union_all, intersect = sel.intersect, except_ = sel.except_,
  intersect_all = sel.intersect_all, except_all = sel.except_all,
  and_ = el.and_, or_ = el.or_, not_ = el.not_, func = el.func, case = el.case, cast = el.cast,
  literal = el.literal, literal_column = el.literal_column, bindparam = el.bindparam, exists = el.exists,
  true_ = el.true_, false_ = el.false_,
  distinct = el.distinct, extract = el.extract, tuple_ = el.tuple_, any_ = el.any_, all_ = el.all_,
}

-- Values as users see them in compile()'s parameter list (typed binds unwrapped).
local function plain_values(values)
  for i = 1, #values do
    local v = values[i]
    if type(v) == "table" and v._ath_type and v._ath_type ~= "array" then values[i] = v[1] end
  end
  return values
end

------------------------------------------------------------ result types

-- Result processors of a column list (position -> function) for a dialect
-- (a driver may convert some types itself), cached on the list per dialect:
-- select(t) reuses the table's list, so this runs once per table.
local function result_meta(cols, dialect)
  if not cols then return nil end
  local cache = cols._meta
  if cache == nil then cache = {}; cols._meta = cache end
  local meta = cache[dialect]
  if meta == nil then
    local procs, any = {}, false
    for i, c in ipairs(cols) do
      local ty = c.type
      local p = type(ty) == "table" and ty.result_processor and ty:result_processor(dialect)
      if p then procs[i] = p; any = true end
    end
    meta = any and { processors = procs } or false
    cache[dialect] = meta
  end
  return meta or nil
end

local function first_columns(stmt)
  if stmt.k == el.K.COMPOUND then return stmt:_first_select()[1] end
  return stmt[1]
end

----------------------------------------------------------------- Select

local Select, Compound = sel.Select, sel.Compound

local function select_execute(self, conn, params, opts)
  if params ~= nil and type(params) == "table" and type(params[1]) == "table" then
    errors.raise("ArgumentError", 3, "a select cannot be executed with a list of parameter sets")
  end
  local sql, values = compile(self, conn.dialect_name, params, true)
  return conn:_execute_sql(sql, values, opts, result_meta(first_columns(self), conn.dialect_name))
end

local function select_compile(self, opts)
  local sql, values = compile(self, opts and opts.dialect or "sqlite", opts and opts.params, false)
  return sql, plain_values(values)
end

local function select_tostring(self)
  return (compile(self, "sqlite", nil, false))
end

for _, cls in ipairs({ Select, Compound }) do
  cls._ath_execute = select_execute
  cls.compile = select_compile
  cls.__tostring = select_tostring
end
for _, cls in ipairs({ sel.Subquery, sel.CTE }) do
  cls.__tostring = function(self) return select_tostring(self[1]) end
end

------------------------------------------------------------------- DML

-- Positional values for one executemany row: slots from the statement,
-- named placeholders from the row.
local function row_values(names, slot_values, row)
  local out = {}
  for i = 1, #names do
    local name = names[i]
    if name then
      local v = row[name]
      if v == nil then
        errors.raise("ArgumentError", 4, "A value is required for bind parameter '%s'", name)
      end
      out[i] = v
    else
      out[i] = slot_values[i]
    end
  end
  return out
end

-- Where each DML node keeps its RETURNING list (csrc/sql/ath_sql.h).
local SLOTS = require("athanor.core").node_slots
local RETURNING_SLOT = { [el.K.INSERT] = SLOTS.INSERT.RETURNING, [el.K.UPDATE] = SLOTS.UPDATE.RETURNING,
                         [el.K.DELETE] = SLOTS.DELETE.RETURNING }

local function dml_execute(self, conn, params, opts)
  local node, many, pk = self:_build(params, 3)
  local dialect = conn.dialect_name
  if many then
    local first = many[1]
    local sql, values, meta = compile(node, dialect, first, false)
    if meta.all_named then return conn:_executemany_sql(sql, many, opts, nil, meta.names) end
    local rows = {}
    for i, r in ipairs(many) do rows[i] = row_values(meta.names, values, r) end
    return conn:_executemany_sql(sql, rows, opts)
  end
  local returning = node[RETURNING_SLOT[node.k]]
  -- a database without lastrowid (PostgreSQL) gives an integer key it
  -- numbered through RETURNING, when the statement returns nothing else
  local implicit_pk = pk and pk.autoinc_index and not returning and dialects.get(dialect).implicit_returning
  if implicit_pk then node[SLOTS.INSERT.RETURNING] = { k = el.K.LIST, pk.column } end
  local sql, values = compile(node, dialect, params, true)
  local meta
  if pk then
    meta = { inserted_primary_key = pk.values, autoinc_index = pk.autoinc_index, pk_count = pk.count }
  end
  if returning then
    local rm = result_meta(returning, dialect)
    if rm then meta = meta or {}; meta.processors = rm.processors end
  end
  local res = conn:_execute_sql(sql, values, opts, meta)
  if implicit_pk then res.lastrowid = res:scalar() end
  return res
end

local function dml_compile(self, opts)
  local node = self:_build(opts and opts.params, 2)
  local sql, values = compile(node, opts and opts.dialect or "sqlite", opts and opts.params, false)
  return sql, plain_values(values)
end

local function dml_tostring(self)
  local node = self:_build(nil, 2)
  return (compile(node, "sqlite", nil, false))
end

for _, cls in ipairs({ dml.Insert, dml.Update, dml.Delete }) do
  cls._ath_execute = dml_execute
  cls.compile = dml_compile
  cls.__tostring = dml_tostring
end

-------------------------------------------------------------- text

-- ath.text() used inside a statement: a TEXT node (its :names bound from
-- execution parameters, or from :bindparams{}).
local TextClause = text.TextClause
function TextClause:_as_node()
  local n = self._node
  if n == nil then
    n = setmetatable({ k = el.K.TEXT, s = self.text, type = self._type }, el.Expr)
    for i, b in ipairs(self._binds or {}) do n[i] = b end
    self._node = n
  end
  return n
end

--- text:bindparams{ name = value }: values carried by the construct.
function TextClause:bindparams(kw)
  if type(kw) ~= "table" then errors.raise("ArgumentError", 2, "bindparams() expects a table of name = value") end
  local c = text.text(self.text)
  c._binds = {}
  for _, b in ipairs(self._binds or {}) do c._binds[#c._binds + 1] = b end
  for name, v in pairs(kw) do
    local b = el.bind(v, nil, 2)
    b.s = name
    c._binds[#c._binds + 1] = b
  end
  c._columns = self._columns
  return c
end

--- text:columns(col...): the result columns' types (their processors apply).
function TextClause:columns(...)
  local c = text.text(self.text)
  c._binds = self._binds
  c._columns = { k = el.K.LIST, ... }
  return c
end

function TextClause:_ath_execute_compiled(conn, params, opts)
  if params ~= nil and type(params[1]) == "table" then
    errors.raise("ArgumentError", 3, "text with bindparams/columns cannot be executed with a list of parameter sets")
  end
  local sql, values = compile(self:_as_node(), conn.dialect_name, params, true)
  return conn:_execute_sql(sql, values, opts, result_meta(self._columns, conn.dialect_name))
end

function M.compile_stats() return core.compile_stats() end

M._result_meta = result_meta
return M
