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
local schema = require("athanor.schema")
local result = require("athanor.engine.result")
local new_result = result.new
local with_connection = require("athanor.engine.connection").with_connection
local is_many = require("athanor.params").is_many

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


----------------------------------------------------------------- Select

local Select, Compound = sel.Select, sel.Compound

local K_COMPOUND = el.K.COMPOUND
local compile_hit, compile_epoch = core.compile_hit, core.compile_epoch
local WHERE = core.node_slots.SELECT.WHERE

local function select_execute(self, conn, params, opts)
  if type(params) == "table" and is_many(params) then
    errors.raise("ArgumentError", 3, "a select cannot be executed with a list of parameter sets")
  end
  local dialect = conn.dialect_name
  local sql, values = compile(self, dialect, params, true)
  -- (the columns of the first SELECT, read inline: this runs for every point select)
  local cols = self.k == K_COMPOUND and self:_first_select()[1] or self[1]
  return conn:_execute_sql(sql, values, opts, result_meta(cols, dialect))
end

-- A fused point select (Select:where in sql/selectable.lua) is executed by
-- this, its class's execute (sql/selectable.lua, fused_class): the SQL kept
-- for this dialect, while the compiled cache's epoch says it still holds
-- (each use counts as a cache hit); its one value is the comparison's.
-- The value is bound by name from the node holding it (placeholder 1
-- takes its field v: no array built per execution): the comparison itself
-- where it holds the value (sql/elements.lua, PlainCompare on Lua 5.3+),
-- else its BIND; except when the connection echoes its SQL, which shows
-- the values as a list. With no options given and nothing echoing or
-- listening, it calls the driver itself: this is the one Lua frame between
-- Connection:execute and the driver.
local BIND_VALUE = { "v" }
local function fused_execute(self, conn, params, opts)
  if params ~= nil then return select_execute(self, conn, params, opts) end
  local entry = self._fused_where
  local dialect = conn.dialect_name
  local kept = entry[dialect]
  local crit = self[WHERE]
  local holder = crit.v ~= nil and crit or crit[2]
  if kept and kept.epoch == compile_hit() then
    local c = conn._c
    if c and not opts and not conn._echo and not conn.engine._listeners then
      local cur, rowcount, lastrowid = conn._exec(c, kept.sql, holder, BIND_VALUE, nil, conn._nulls)
      return new_result(cur, rowcount, lastrowid, kept.meta, conn)
    end
    if conn._echo then return conn:_execute_sql(kept.sql, { holder.v }, opts, kept.meta) end
    return conn:_execute_sql(kept.sql, holder, opts, kept.meta, BIND_VALUE)
  end
  local sql, values = compile(self, dialect, nil, true)
  local meta = result_meta(self[1], dialect)       -- (the kept select's columns: the same for every use)
  local epoch = compile_epoch()
  if epoch and #values == 1 and rawequal(values[1], holder.v) then
    entry[dialect] = { sql = sql, epoch = epoch, meta = meta }
  end
  return conn:_execute_sql(sql, values, opts, meta)
end
sel.fused_execute = fused_execute

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

-- Put the rows of a multi-row VALUES ... RETURNING in the order of the
-- parameter rows: the database numbers an autoincrement key in the order
-- it inserts the rows, so ascending keys are row order (SQLAlchemy's
-- "implicit sentinel"). Rows usually come back in that order already.
local function in_row_order(rows, sentinel)
  for i = 2, #rows do
    local a, b = rows[i - 1][sentinel], rows[i][sentinel]
    if type(a) ~= "number" or type(b) ~= "number" then return rows end   -- (a key as a string: left as it came)
    if b < a then
      table.sort(rows, function(x, y) return x[sentinel] < y[sentinel] end)
      return rows
    end
  end
  return rows
end

-- A multi-row VALUES plan: one statement per batch (several run in one
-- transaction, the connection's own when one is open: the rows are
-- inserted or refused together); with RETURNING, one Result over every
-- batch's rows, in row order.
local execute_multivalues
local function execute_batches(plan, conn, opts, meta)
  if #plan.batches > 1 then
    return with_connection(conn, true, function() return execute_multivalues(plan, conn, opts, meta) end)
  end
  return execute_multivalues(plan, conn, opts, meta)
end

function execute_multivalues(plan, conn, opts, meta)
  local dialect = conn.dialect_name
  local batches = plan.batches
  if not plan.returning then
    local total = 0
    for i = 1, #batches do
      local sql, values = compile(batches[i], dialect, nil, true)
      total = total + conn:_execute_sql(sql, values, opts, meta).rowcount
    end
    return result.from_rows(nil, nil, total, conn)
  end
  if #batches == 1 and not plan.sentinel then
    local sql, values = compile(batches[1], dialect, nil, true)
    return conn:_execute_sql(sql, values, opts, meta)
  end
  local rows, names = {}, nil
  for i = 1, #batches do
    local sql, values = compile(batches[i], dialect, nil, true)
    local res = conn:_execute_sql(sql, values, opts, meta)
    names = names or res:keys()
    local got = res:all()
    for j = 1, #got do rows[#rows + 1] = got[j] end
  end
  if plan.sentinel then in_row_order(rows, plan.sentinel) end
  return result.from_rows(rows, names, #rows, conn)
end

local keep_fused
local one_row_shape, one_row, row_key = dml._one_row_shape, dml._one_row, dml._row_key
local K_VALUES, INS_ROWS = el.K.VALUES, core.node_slots.INSERT.ROWS

--- Run an INSERT, UPDATE or DELETE: its plan (stmt:plan), executed the way
-- the plan's kind says; the one place DML is handed to the connection.
local function dml_execute(self, conn, params, opts)
  local plan = self:plan(params, conn.dialect, 3)
  local kind, node = plan.kind, plan.node
  local dialect = conn.dialect_name
  if kind == "executemany" then
    local many = plan.params
    local sql, values, cmeta = compile(node, dialect, many[1], false)
    if cmeta.all_named then return conn:_executemany_sql(sql, many, opts, nil, cmeta.names) end
    local rows = {}
    for i, r in ipairs(many) do rows[i] = row_values(cmeta.names, values, r) end
    return conn:_executemany_sql(sql, rows, opts)
  end
  local meta
  local pk = plan.pk
  if pk then
    meta = { inserted_primary_key = pk.values, autoinc_index = pk.autoinc_index, pk_count = pk.count }
  end
  local returning = plan.returning
  if returning then
    local rm = result_meta(returning, dialect)
    if rm then meta = meta or {}; meta.processors = rm.processors end
  end
  if kind == "multivalues" then return execute_batches(plan, conn, opts, meta) end
  local sql, values = compile(node, dialect, params, true)
  local shape = plan.shape
  if shape and params == nil and not self._conflict and not returning and node[INS_ROWS][1].k == K_VALUES
     and #values == #shape.cols then
    keep_fused(shape, conn.dialect, (pk and pk.autoinc_index ~= nil) or false, sql, plan.keys == "implicit_returning")
  end
  local res = conn:_execute_sql(sql, values, opts, meta)
  if plan.keys == "implicit_returning" then res.lastrowid = res:scalar() end
  return res
end

-- The fused one-row INSERT: ath.insert(t):values(row) executed with plain
-- values (no SQL expression among them, no RETURNING, ON CONFLICT or FROM
-- SELECT) is the same SQL for every row of one shape (the set of columns
-- given), so once compiled for a dialect the SQL is kept on the shape and
-- the row's converted values are bound directly: no statement node, no plan
-- and no conversion to C nodes. The compiled cache's epoch (core.compile_hit)
-- says whether a kept SQL still holds; each use counts as a cache hit.
-- Kept per dialect and per whether the database numbers the key: a row
-- of the same shape giving its key as ath.null asks PostgreSQL for it
-- through RETURNING, one giving a value does not.
local WEAK_KEYS = { __mode = "k" }
function keep_fused(shape, dialect, numbered, sql, implicit)
  local epoch = compile_epoch()
  if not epoch or dialect == nil then return end  -- a cache of size 0 keeps nothing
  local field = numbered and "fused_numbered" or "fused"
  local fused = shape[field]
  if not fused then fused = setmetatable({}, WEAK_KEYS); shape[field] = fused end
  fused[dialect] = { sql = sql, epoch = epoch, implicit = implicit }
end

local EMPTY = {}
local null = core.null

-- The Result's meta of a fused insert whose one key column the row gives:
-- the key is read from the row when asked for (Result:inserted_primary_key),
-- so the insert builds one table for it, not two.
local GivenKeyMeta = { __index = function(meta, field)
  if field == "inserted_primary_key" then return { meta[1] } end
  if field == "pk_count" then return 1 end
  return nil
end }

-- The key of a plain row of a kept shape: the Result's meta, and whether
-- the database numbers the key (which kept SQL runs). The meta of a key
-- the database numbers is the same for every row, kept on the shape
-- (Result:inserted_primary_key copies it before adding lastrowid).
local function fused_row_key(shape, src)
  local name = shape.key_name
  if name then
    local v = src[name]
    if v ~= nil and v ~= null then return setmetatable({ v }, GivenKeyMeta), false end
    local meta = shape.numbered_meta
    if meta then return meta, true end
  elseif shape.pk[1] == nil then
    return nil, false
  end
  -- (every column of the shape is in src: row_key reads no VALUES row)
  local values, autoinc_index = row_key(shape, src, EMPTY, false)
  local meta = { inserted_primary_key = values, autoinc_index = autoinc_index, pk_count = #shape.pk }
  if name and autoinc_index then shape.numbered_meta = meta end   -- (values is empty: shared)
  return meta, autoinc_index ~= nil
end

local values_row = core.values_row
local function insert_execute(self, conn, params, opts)
  local kept = self._shape
  if kept and params == nil then
    -- a plain row of a shape values() found (sql/dml.lua): bound by name,
    -- as it is, into the SQL kept on the shape
    local src = self._row
    local meta, numbered = fused_row_key(kept, src)
    local fused = kept[numbered and "fused_numbered" or "fused"]
    local entry = fused and fused[conn.dialect]
    if entry and entry.epoch == compile_hit() then
      local res = conn:_execute_sql(entry.sql, src, opts, meta, kept.names)
      if entry.implicit then res.lastrowid = res:scalar() end
      return res
    end
  end
  if params == nil and not (self._returning or self._conflict or self._select) then
    local rows = self._rows
    if not rows or rows[2] == nil then
      local src = rows and rows[1] or self._row or EMPTY
      local shape = one_row_shape(self.table, src)
      if shape.fused or shape.fused_numbered then
        local row, meta, numbered
        if self._plain == #shape.cols then           -- each value bound as it is: no conversion
          row = values_row(src, shape.names, K_VALUES)
          local values, autoinc_index = row_key(shape, src, row, false)
          if values then
            meta = { inserted_primary_key = values, autoinc_index = autoinc_index, pk_count = #shape.pk }
          end
          numbered = autoinc_index ~= nil
        else
          local pk
          row, pk = one_row(shape, src, 3)
          if pk then meta = { inserted_primary_key = pk.values, autoinc_index = pk.autoinc_index, pk_count = pk.count } end
          numbered = pk and pk.autoinc_index ~= nil
        end
        local fused = shape[numbered and "fused_numbered" or "fused"]
        local entry = fused and fused[conn.dialect]
        if entry and row.k == K_VALUES and entry.epoch == compile_hit() then
          local res = conn:_execute_sql(entry.sql, row, opts, meta)
          if entry.implicit then res.lastrowid = res:scalar() end
          return res
        end
      end
    end
  end
  return dml_execute(self, conn, params, opts)
end

local function dml_compile(self, opts)
  local params = opts and opts.params
  local dialect = opts and opts.dialect or "sqlite"
  local node = self:plan(params, { name = dialect, supports_returning = true,
                                   implicit_returning = false }, 2).node
  local sql, values = compile(node, dialect, params, false)
  return sql, plain_values(values)
end

local function dml_tostring(self)
  local node = self:plan(nil, nil, 2).node
  return (compile(node, "sqlite", nil, false))
end

for _, cls in ipairs({ dml.Insert, dml.Update, dml.Delete }) do
  cls._ath_execute = cls == dml.Insert and insert_execute or dml_execute
  cls.compile = dml_compile
  cls.__tostring = dml_tostring
end

-------------------------------------------------------------- text

-- TextClause's methods from the expression language (applied below).
local text_methods = {}

-- ath.text() used inside a statement: a TEXT node (its :names bound from
-- execution parameters, or from :bindparams{}).
function text_methods:_as_node()
  local n = self._node
  if n == nil then
    n = setmetatable({ k = el.K.TEXT, s = self.text, type = self._type }, el.Expr)
    for i, b in ipairs(self._binds or {}) do n[i] = b end
    self._node = n
  end
  return n
end

--- text:bindparams{ name = value }: values carried by the construct.
function text_methods:bindparams(kw)
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
function text_methods:columns(...)
  local c = text.text(self.text)
  c._binds = self._binds
  c._columns = { k = el.K.LIST, ... }
  return c
end

function text_methods:_ath_execute_compiled(conn, params, opts)
  if params ~= nil and is_many(params) then
    errors.raise("ArgumentError", 3, "text with bindparams/columns cannot be executed with a list of parameter sets")
  end
  local sql, values = compile(self:_as_node(), conn.dialect_name, params, true)
  return conn:_execute_sql(sql, values, opts, result_meta(self._columns, conn.dialect_name))
end

------------------------------------ methods of classes defined elsewhere
-- Table and Column (athanor.schema) and TextClause (athanor.text) are
-- defined below the expression language, which gives them their SQL
-- methods here and nowhere else; each class's header points here.

-- Copy methods into cls; a method cls defines itself is kept.
local function add_methods(cls, methods)
  for name, fn in pairs(methods) do
    if rawget(cls, name) == nil then cls[name] = fn end
  end
end

add_methods(schema._Table, sel.table_methods)      -- alias, join, outerjoin, select, _from (sql/selectable.lua)
add_methods(schema._Table, dml.table_methods)      -- insert, update, delete (sql/dml.lua)
add_methods(schema._Column, el.column_methods())   -- every operator of Expr (sql/elements.lua)
add_methods(text.TextClause, text_methods)         -- _as_node, bindparams, columns, ... (above)

function M.compile_stats() return core.compile_stats() end

M._result_meta = result_meta
return M
