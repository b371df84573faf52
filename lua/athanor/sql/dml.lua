--- INSERT, UPDATE and DELETE (API.md §4). The statement objects are
-- generative like selects; their compiler node is built when they are
-- compiled or executed, because column defaults (a Lua function is called
-- per row) and the rows given to execute() belong to each execution.
local errors = require("athanor.errors")
local schema = require("athanor.schema")
local el = require("athanor.sql.elements")
local coercions = require("athanor.sql.coercions")
local dialects = require("athanor.dialects")
local params_mod = require("athanor.params")
local add_criteria = require("athanor.sql.selectable").add_criteria
local unpack = require("athanor.compat").unpack

local K, coerce = el.K, el.coerce
-- child slots by name (core.node_slots; ATH_NODE_KINDS in csrc/sql/ath_sql.h)
local SLOTS = require("athanor.core").node_slots
local INS, UPD, DEL, CONFLICT = SLOTS.INSERT, SLOTS.UPDATE, SLOTS.DELETE, SLOTS.ONCONFLICT

-- An ONCONFLICT node: the target columns, the SET list (false: DO NOTHING), the WHERE.
local function conflict_node(target, sets, where)
  local n = { k = K.ONCONFLICT }
  n[CONFLICT.TARGET], n[CONFLICT.SETS], n[CONFLICT.WHERE] = target, sets, where
  return n
end
local type, setmetatable, ipairs, pairs, select = type, setmetatable, ipairs, pairs, select
local Table = schema._Table

local M = { table_methods = {} }   -- insert/update/delete of Table (applied in athanor.sql)

local EMPTY = {}
local null = require("athanor.core").null     -- ath.null
local is_node, is_many = el.is_node, params_mod.is_many

-- @param what the constructor, for messages ("insert()")
local function check_table(t, what, level)
  if getmetatable(t) == Table then return t end
  return coercions.to_dml_table(t, what, level + 1)
end

-- The row with its keys as column names of t (DMLColumnRole: a name, or a
-- column of t or an object standing for one); unknown keys raise.
local function check_keys(t, row, level)
  return coercions.column_keys(t, row, "values()", level + 1)
end

local function copy(stmt, mt)
  local c = {}
  for k, v in pairs(stmt) do c[k] = v end
  return setmetatable(c, mt)
end

-- An Insert's fields in one constructor (no rehashing while copying); an
-- absent one is false, so reading it never reaches Insert.__index (the
-- statement one-row values() makes sets only those it needs: nil reads as
-- false). (_row: the one row values() gave, checked; _rows: the rows of a
-- multi-row values(). _plain: the number of keys of the one row when each
-- of its values is bound as it is (core.plain_row). _shape: the shape of
-- that plain row when already known and the statement is a plain INSERT
-- (no RETURNING, ON CONFLICT or FROM SELECT): sql/init.lua's fused insert
-- binds the row by name into the SQL kept on it. A copy made for any other
-- change drops _shape.)
local function copy_insert(stmt)
  return setmetatable({ table = stmt.table, _row = stmt._row, _rows = stmt._rows, _returning = stmt._returning,
                        _conflict = stmt._conflict, _select = stmt._select, _select_cols = stmt._select_cols,
                        _plain = stmt._plain, _shape = false, excluded = stmt.excluded },
                      getmetatable(stmt))
end

-- RETURNING takes what a select list does (ColumnsClauseRole).
local function returning_list(level, ...)
  local out = { k = K.LIST }
  for i = 1, select("#", ...) do
    coercions.add_columns_clause(out, (select(i, ...)), "returning()", level + 1)
  end
  return out
end

-- A column's Lua-side default for one row (a function is called each time).
local function default_of(col)
  local d = col.default
  if type(d) == "function" then return d() end
  return d
end

--- The values of one row for the columns cols, converted for binding: the
-- one convert-row loop of INSERT (one row, executemany, multi-row VALUES).
-- Each value is the row's, else the column's Lua default, else NULL; a
-- plain value goes through the column type's bind processor, a SQL
-- expression (or an object standing for one) stays a node.
-- @param out the table filled: out[i] (by_name false) or out[col.name]
-- @return out, and whether a SQL expression is among the values
local function convert_row(cols, src, out, by_name, level)
  local has_expr = false
  for i = 1, #cols do
    local col = cols[i]
    local v = src[col.name]
    if v == nil then v = default_of(col) end
    if v == nil then v = null
    elseif type(v) ~= "table" then                          -- the common case: a plain value
      if v ~= null then
        local proc = col.type._bind
        if proc then v = proc(v, col.name) end
      end
    elseif is_node(v) then has_expr = true
    elseif coercions.is_text(v) or coercions.clause_element(v, level + 1) then
      v = coercions.to_operand(v, col, level + 1)          -- ath.text() or a protocol object: an expression
      has_expr = true
    else                                                   -- a table value (JSON, an array)
      local proc = col.type._bind
      if proc then v = proc(v, col.name) end
    end
    out[by_name and col.name or i] = v
  end
  return out, has_expr
end
M.convert_row = convert_row

local PLAIN_BINDS = require("athanor.types")._plain_binds
local mtype = math.type

-- The rows of an executemany with their keys checked (check_keys), in one
-- pass over each row's keys, which also notes the rows convert_row would
-- give back unchanged: every value plain and of the Lua type its column's
-- built-in bind check passes (an integer for Integer, a string, a number
-- for Float). given[i] is then row i's number of keys; the plan binds such
-- a row as it is, by name, when that is the number of columns inserted
-- (its keys are columns of the statement, so it has them all).
-- What each column's bind check passes unchanged, for core.plain_rows
-- (csrc/lua/l_rows.c: ROWKIND_*), built once per table.
-- kinds[name]: the column's kind plus 8 times its bit (2^(i-1), for the
-- first MAX_SHAPE_COLUMNS columns): the mask a one-row shape is cached
-- under is the sum of its columns' bits (one_row_shape below), which
-- core.plain_row sums for values().
local ROWKIND = { integer = 1, string = 2, number = 3 }
local MAX_SHAPE_COLUMNS = 50                         -- bits of an exact integer (times 8: 2^53)
local function plain_kinds(t)
  local kinds = {}
  local bit = 1
  for i, col in ipairs(t.columns) do
    local proc = col.type._bind
    local kind = proc == nil and 0 or ROWKIND[PLAIN_BINDS[proc]] or 4
    kinds[col.name] = i <= MAX_SHAPE_COLUMNS and kind + 8 * bit or kind
    bit = bit + bit
  end
  t._plain_kinds = kinds
  return kinds
end
local core = require("athanor.core")
local plain_rows, plain_row = core.plain_rows, core.plain_row

local function checked_rows(t, params, level)
  -- in C when every key is a column name (the usual case); else below,
  -- which names a wrong key or renames keys given as Column objects
  local as_given, uniform = plain_rows(params, t._plain_kinds or plain_kinds(t))
  if as_given then return params, as_given, uniform end
  local c = t.c
  local many, given = {}, {}
  for i, r in ipairs(params) do
    local count, plain = 0, true
    for key, v in pairs(r) do
      local col = type(key) == "string" and c[key]
      if not col then plain = nil break end        -- a key to check (or rename): check_keys below
      count = count + 1
      if plain then
        local tv = type(v)
        if tv == "table" then plain = false
        elseif v ~= null then
          local proc = col.type._bind
          local p = proc and PLAIN_BINDS[proc]
          if proc and p ~= tv and not (p == "integer" and mtype and mtype(v) == "integer") then plain = false end
        end
      end
    end
    if plain == nil then r = check_keys(t, r, level + 1) end
    many[i] = r
    given[i] = plain and count or false
  end
  return many, given
end

------------------------------------------------------------------- INSERT

local Insert = { __name = "athanor.Insert" }
M.Insert = Insert
Insert.__index = Insert

-- ins.excluded.col for ON CONFLICT DO UPDATE: the columns of the proposed
-- row, one namespace per table (built once, shared by its statements).
local function excluded_of(t)
  local ns = t._excluded
  if ns == nil then
    local row = { k = K.TABLE, s = "excluded", f = K.F_PSEUDO }
    ns = {}                                          -- column name -> column of the proposed row
    for _, col in ipairs(t.columns) do
      ns[col.name] = setmetatable({ k = K.COLUMN, s = col.name, t = row, name = col.name, type = col.type,
                                    table = row }, schema._Column)
    end
    t._excluded = ns
  end
  return ns
end

--- ath.insert(t) / t:insert()
-- insert(t) of a schema table is built once and kept on the table (a
-- statement is never modified once built: values() and the rest copy it).
-- Every field is present (false when unset): reading one never reaches
-- the class.
function M.insert(t)
  if getmetatable(t) == Table then
    local kept = t._insert_all
    if kept then return kept end
  end
  t = check_table(t, "insert()", 2)
  local ins = setmetatable({ table = t, _row = false, _rows = false, _returning = false, _conflict = false,
                             _select = false, _select_cols = false, _plain = false, _shape = false,
                             excluded = excluded_of(t) }, Insert)
  if getmetatable(t) == Table then t._insert_all = ins end
  return ins
end
function M.table_methods.insert(self) return M.insert(self) end

--- :values{ col = v, ... } (one row) or :values{ {...}, {...} } (many rows).
-- Keys are column names or columns of the table (DMLColumnRole).
function Insert:values(rows)
  if type(rows) ~= "table" then errors.raise("ArgumentError", 2, "values() expects a table, got %s", type(rows)) end
  local t = self.table
  local first = rows[1]
  if first ~= nil and is_many(rows) and not is_node(first) then
    local c = copy_insert(self)
    local checked = {}
    for i, r in ipairs(rows) do checked[i] = check_keys(t, r, 2) end
    c._rows, c._row, c._plain = checked, false, false
    return c
  end
  -- one row, in one step (the usual case): checked in C when every key is
  -- a column name, and marked plain when each value is bound as it is; on
  -- a plain INSERT its shape is looked up by the set of its keys (a shape
  -- names every column with a Lua default: found, none is left out)
  local count, mask, given = plain_row(rows, t._plain_kinds or plain_kinds(t))
  local returning, conflict, from = self._returning, self._conflict, self._select
  local shape = false
  if count == nil then rows, count = check_keys(t, rows, 2), false
  else
    rows = given                                   -- its copy: the caller may change its table later
  end
  if count and not (returning or conflict or from) then
    local shapes = t._insert_shapes
    shape = shapes and shapes[mask] or false
  end
  -- (the optional fields copied only when set: a smaller table)
  local c
  if shape then c = setmetatable({ table = t, _row = rows, _shape = shape, excluded = self.excluded }, getmetatable(self))
  else
    c = setmetatable({ table = t, _row = rows, _plain = count, _shape = false, excluded = self.excluded },
                     getmetatable(self))
  end
  if returning then c._returning = returning end
  if conflict then c._conflict = conflict end
  if from then c._select, c._select_cols = from, self._select_cols end
  return c
end

--- :from_select({ cols... }, select)
function Insert:from_select(cols, select_stmt)
  if type(cols) ~= "table" then
    errors.raise("ArgumentError", 2, "from_select() expects a list of columns and a select")
  end
  select_stmt = coercions.to_select(select_stmt, "from_select()", 2)
  local c = copy_insert(self)
  local list = { k = K.LIST }
  for i, col in ipairs(cols) do
    list[i] = self.table.c[coercions.to_column_key(self.table, col, "from_select()", 2)]
  end
  c._select_cols, c._select = list, select_stmt
  return c
end

function Insert:returning(...)
  local c = copy_insert(self)
  c._returning = returning_list(2, ...)
  return c
end

local function conflict_target(t, elements, level)
  local list = { k = K.LIST }
  for i, e in ipairs(elements or {}) do
    if type(e) == "string" then
      if not t.c[e] then errors.raise("ArgumentError", level + 1, "Table '%s' has no column '%s'", t.name, e) end
      e = t.c[e]
    else
      e = coercions.to_column_expr(e, "index_elements", level + 1)
    end
    list[i] = e
  end
  return list
end

--- :on_conflict_do_nothing{ index_elements = { ... } }
function Insert:on_conflict_do_nothing(opts)
  local c = copy_insert(self)
  c._conflict = conflict_node(conflict_target(self.table, opts and opts.index_elements, 2), false, false)
  return c
end

--- :on_conflict_do_update{ index_elements = {...}, set = { col = value | ins.excluded.col }, where = }
function Insert:on_conflict_do_update(opts)
  if type(opts) ~= "table" or type(opts.set) ~= "table" then
    errors.raise("ArgumentError", 2, "on_conflict_do_update{ index_elements = {...}, set = {...} } needs set")
  end
  local set = check_keys(self.table, opts.set, 2)
  local sets = { k = K.LIST }
  for _, col in ipairs(self.table.columns) do
    local v = set[col.name]
    if v ~= nil then sets[#sets + 1] = { k = K.SET, col, coerce(v, col, 2) } end
  end
  local c = copy_insert(self)
  c._conflict = conflict_node(conflict_target(self.table, opts.index_elements, 2), sets,
                              opts.where ~= nil and el.criterion(opts.where, "on_conflict_do_update() where", 2) or false)
  return c
end

-- The columns an INSERT of these rows names: every key given in any row,
-- then every column with a Lua default, in the table's order.
local function insert_columns(t, rows)
  local cols = {}
  for _, col in ipairs(t.columns) do
    local present = col.default ~= nil
    if not present then
      for _, r in ipairs(rows) do if r[col.name] ~= nil then present = true break end end
    end
    if present then cols[#cols + 1] = col end
  end
  return cols
end

-- The shape of a one-row insert for the set of columns it names (a bit per
-- column: given, or with a Lua default), cached on the table: the column
-- list (frozen: the compiler converts it once) and where the key is.
local function one_row_shape(t, row)
  local columns = t.columns
  local ncols = #columns
  local mask
  if ncols <= MAX_SHAPE_COLUMNS then
    mask = 0
    local bit = 1
    for i = 1, ncols do
      local col = columns[i]
      if row[col.name] ~= nil or col.default ~= nil then mask = mask + bit end
      bit = bit + bit
    end
    local shapes = t._insert_shapes
    local shape = shapes and shapes[mask]
    if shape then return shape end
  end
  local cols = insert_columns(t, { row })
  local collist = { k = K.LIST, _frozen = true }
  for i, col in ipairs(cols) do collist[i] = col end
  local names = {}
  for i, col in ipairs(cols) do names[i] = col.name end
  local shape = { cols = cols, collist = collist, pk = {}, names = names }
  for i, col in ipairs(t.primary_key) do
    local pos
    for j, c in ipairs(cols) do if c == col then pos = j end end
    shape.pk[i] = { col = col, pos = pos, autoinc = t:_autoincrement_column() == col }
  end
  -- (a key of one column: its name, for the fused insert in sql/init.lua)
  shape.key_name = #shape.pk == 1 and shape.pk[1].col.name or false
  if mask then
    t._insert_shapes = t._insert_shapes or {}
    t._insert_shapes[mask] = shape
  end
  return shape
end

-- The VALUES row of a one-row insert (the converted values themselves, no
-- node per value; a SQL expression among them makes it a LIST of nodes)
-- and its primary key: the values known before execution, and which key
-- the database numbers (autoinc_index, column).
--- The primary key of a one-row insert's VALUES row: the values known
-- before execution (given in src, or a column's Lua default in row), and
-- which key the database numbers (its index among the key columns, and its
-- column); nil when the table has no key. Used by one_row, and by the
-- fused insert of a row bound as given (sql/init.lua).
local function row_key(shape, src, row, has_expr)
  local pkshape = shape.pk
  if #pkshape == 0 then return nil end
  local values, autoinc_index, column = {}, nil, nil
  for i = 1, #pkshape do
    local p = pkshape[i]
    local given = src[p.col.name]
    local v = p.pos and row[p.pos]
    if has_expr and is_node(v) and v.k == K.BIND then v = v.v end   -- (a user's value may hold a field k)
    if given ~= nil and given ~= null and not is_node(given) then values[i] = given
    elseif given == nil and v ~= nil and v ~= null and not is_node(v) then values[i] = v  -- a Lua default
    elseif p.autoinc and autoinc_index == nil then autoinc_index = i; column = p.col end
  end
  return values, autoinc_index, column
end
M._row_key = row_key

local function one_row(shape, src, level)
  local cols = shape.cols
  local row, has_expr = convert_row(cols, src, { k = K.VALUES }, false, level + 1)
  if has_expr then
    row.k = K.LIST
    for i = 1, #cols do
      local v = row[i]
      if not is_node(v) then row[i] = setmetatable({ k = K.BIND, v = v, type = cols[i].type }, el.Expr) end
    end
  end
  local values, autoinc_index, column = row_key(shape, src, row, has_expr)
  if not values then return row, nil end
  return row, { values = values, count = #shape.pk, autoinc_index = autoinc_index, column = column }
end

-- Rows of a multi-row VALUES: LISTs of nodes (values bound, typed by their column).
local function values_rows(cols, rows, level)
  local rowlist = { k = K.LIST }
  for r, src in ipairs(rows) do
    local row = convert_row(cols, src, { k = K.LIST }, false, level + 1)
    for i = 1, #cols do
      local v = row[i]
      if not is_node(v) then row[i] = setmetatable({ k = K.BIND, v = v, type = cols[i].type }, el.Expr) end
    end
    rowlist[r] = row
  end
  return rowlist
end

-- Whether the database gives a key it numbers back only through RETURNING
-- (it has no lastrowid: PostgreSQL): the dialect's own flag, else its Lua
-- dialect module's; read once per dialect object.
local implicit_of = setmetatable({}, { __mode = "k" })
local function implicit_returning(dialect)
  local v = implicit_of[dialect]
  if v == nil then
    v = dialect.implicit_returning
    if v == nil then v = dialect.name ~= nil and dialects.get(dialect.name).implicit_returning or false end
    implicit_of[dialect] = v
  end
  return v
end

-- A multi-row VALUES ... RETURNING stays under both databases' limits on
-- bound parameters per statement (SQLite 32766, PostgreSQL 65535), and
-- statements of full batches share one compiled shape.
local MAX_BATCH_ROWS, MAX_BATCH_PARAMS = 1000, 30000

--- The plan of one execution of this INSERT, built in one place
-- (docs/insert-plan.md): what statement runs, with which rows, and how the
-- keys come back.
-- @param params nil, one row table, or an array of row tables
-- @param dialect { name =, supports_returning =, implicit_returning = }: an
--   engine's `dialect` (implicit_returning then comes from its Lua dialect
--   module), or nil for compile() (RETURNING assumed, no implicit RETURNING)
-- @return plan: { kind = "single" | "executemany" | "multivalues" | "from_select",
--   node = the INSERT node (the first batch's for a batched multivalues),
--   batches = multivalues: array of INSERT nodes, one statement each,
--   params = executemany: the converted rows (column name -> value),
--   keys = "returning" | "implicit_returning" | "lastrowid" | "given" | "none",
--   returning = the RETURNING list or nil,
--   pk = single: { values =, count =, autoinc_index =, column = } or nil,
--   shape = single: the row's shape (its columns; sql/init.lua keeps the SQL on it),
--   sentinel = multivalues: position in RETURNING of the key the database
--     numbers in row order (rows are put in that order), or nil }
-- @raise ArgumentError for unknown columns, params that cannot be merged
function Insert:plan(params, dialect, level)
  level = level or 1
  local t = self.table
  local returning = self._returning or nil
  local n = { k = K.INSERT, t, false, false, false, returning or false, self._conflict or false }
  local plan = { kind = "single", node = n, keys = "none", pk = false }
  if returning then plan.returning = returning end
  if self._select then
    n[INS.COLUMNS], n[INS.SELECT] = self._select_cols, self._select
    plan.kind = "from_select"
    plan.keys = returning and "returning" or "none"
    return plan
  end
  local one = self._row
  local rows = self._rows or (one and { one }) or EMPTY
  local many, as_given, uniform
  if params ~= nil then
    if type(params) ~= "table" then errors.raise("ArgumentError", level + 1, "execute() parameters must be a table") end
    if is_many(params) then
      many, as_given, uniform = checked_rows(t, params, level + 1)
    else
      params = check_keys(t, params, level + 1)
      if #rows > 1 then errors.raise("ArgumentError", level + 1, "execute() parameters cannot be merged into a multi-row values()") end
      local merged = {}
      for k, v in pairs(rows[1] or EMPTY) do merged[k] = v end
      for k, v in pairs(params) do merged[k] = v end
      rows = { merged }
    end
  end
  local supports_returning = dialect == nil or dialect.supports_returning
  if not many and #rows <= 1 then                     -- one row (none: every column's default)
    local src = rows[1] or EMPTY
    local shape = one_row_shape(t, src)
    n[INS.COLUMNS] = shape.collist
    local row, pk = one_row(shape, src, level + 1)
    n[INS.ROWS] = { k = K.LIST, row }
    plan.pk = pk or false
    plan.shape = shape
    if returning then plan.keys = "returning"
    elseif pk and pk.autoinc_index then
      -- a database without lastrowid (PostgreSQL) gives an integer key it
      -- numbered through RETURNING, when the statement returns nothing else
      if dialect and supports_returning and implicit_returning(dialect) then
        n[INS.RETURNING] = { k = K.LIST, pk.column }
        plan.keys = "implicit_returning"
      else
        plan.keys = "lastrowid"
      end
    elseif pk then plan.keys = "given" end
    return plan
  end
  local cols = insert_columns(t, many or rows)
  local collist = { k = K.LIST }
  for i, col in ipairs(cols) do collist[i] = col end
  n[INS.COLUMNS] = collist
  if many and not (returning and supports_returning) then
    -- executemany: one row of named placeholders; each row is converted here
    local row = { k = K.LIST }
    for i, col in ipairs(cols) do row[i] = { k = K.BIND, s = col.name, f = K.F_NAMED } end
    n[INS.ROWS] = { k = K.LIST, row }
    local ncols = #cols
    if uniform == ncols then                           -- every row bound as it is
      plan.kind, plan.params = "executemany", many
      return plan
    end
    local converted = {}
    for r, src in ipairs(many) do
      local out, has_expr = src, false
      if (uniform or as_given[r]) ~= ncols then out, has_expr = convert_row(cols, src, {}, true, level + 1) end
      if has_expr then
        for _, col in ipairs(cols) do
          if is_node(out[col.name]) then
            errors.raise("ArgumentError", level + 1,
              "row %d: column '%s': SQL expressions are not allowed in executemany rows", r, col.name)
          end
        end
      end
      converted[r] = out
    end
    plan.kind, plan.params = "executemany", converted
    return plan
  end
  -- multi-row VALUES: values{ {...}, {...} }, or a list of rows executed
  -- with RETURNING (every row's RETURNING values, in row order)
  plan.kind = "multivalues"
  plan.keys = returning and "returning" or "none"
  local src_rows = many or rows
  if returning and many then
    local auto = t:_autoincrement_column()
    if auto then
      local given = false
      for _, r in ipairs(src_rows) do if r[auto.name] ~= nil then given = true break end end
      for i, c in ipairs(returning) do if c == auto and not given then plan.sentinel = i break end end
    end
  end
  local per = math.max(1, math.min(MAX_BATCH_ROWS, math.floor(MAX_BATCH_PARAMS / math.max(1, #cols))))
  if #src_rows <= per then
    n[INS.ROWS] = values_rows(cols, src_rows, level + 1)
    plan.batches = { n }
    return plan
  end
  plan.batches = {}
  for first = 1, #src_rows, per do
    local chunk = {}
    for i = first, math.min(#src_rows, first + per - 1) do chunk[#chunk + 1] = src_rows[i] end
    local b = { k = K.INSERT, t, collist, values_rows(cols, chunk, level + 1), false, returning or false,
                self._conflict or false }
    plan.batches[#plan.batches + 1] = b
  end
  plan.node = plan.batches[1]
  return plan
end

-- (the fused one-row INSERT of athanor.sql: sql/init.lua)
M._one_row_shape, M._one_row = one_row_shape, one_row

------------------------------------------------------------------- UPDATE

-- A statement class whose constructor ath.<what>(t) is also t:<what>().
local function statement_class(name, what)
  local cls = { __name = "athanor." .. name }
  cls.__index = cls
  M[name] = cls
  M[what] = function(t)
    return setmetatable({ table = check_table(t, what .. "()", 2) }, cls)
  end
  M.table_methods[what] = function(self) return M[what](self) end
  return cls
end

local Update = statement_class("Update", "update")

function Update:where(...)
  local c = copy(self, getmetatable(self))
  c._where = add_criteria(self._where, "where()", 2, ...)   -- the same rule as Select:where
  return c
end
Update.filter = Update.where

function Update:filter_by(kw)
  local t = self.table
  kw = coercions.column_keys(t, kw, "filter_by()", 2)
  local crit = {}
  for _, col in ipairs(t.columns) do
    if kw[col.name] ~= nil then crit[#crit + 1] = col:eq(kw[col.name]) end
  end
  return self:where(el.and_(unpack(crit)))
end

--- :values{ col = value | expression }
function Update:values(kw)
  if type(kw) ~= "table" then errors.raise("ArgumentError", 2, "values() expects a table, got %s", type(kw)) end
  kw = check_keys(self.table, kw, 2)
  local c = copy(self, Update)
  local merged = {}
  for k, v in pairs(self._values or {}) do merged[k] = v end
  for k, v in pairs(kw) do merged[k] = v end
  c._values = merged
  return c
end

function Update:returning(...)
  local c = copy(self, getmetatable(self))
  c._returning = returning_list(2, ...)
  return c
end

-- SET list in column order; columns with onupdate get it when not given.
-- @return the UPDATE node, and the parameter sets of an executemany (or nil)
function Update:_build(params, level)
  local t = self.table
  local values = self._values
  local many
  if params ~= nil and is_many(params) then many = params end
  if values == nil and params ~= nil then
    -- conn:execute(update(t):where(...), { col = v }): the parameters are the values
    local first = many and many[1] or params
    values = {}
    for k in pairs(first) do
      if t.c[k] then values[k] = el.bindparam(k, nil, t.c[k].type) end
    end
  end
  if values == nil or next(values) == nil then
    errors.raise("ArgumentError", level + 1, "UPDATE of '%s' has no values: call :values{ ... }", t.name)
  end
  local sets = { k = K.LIST }
  for _, col in ipairs(t.columns) do
    local v = values[col.name]
    if v == nil and col.onupdate ~= nil then v = default_of({ default = col.onupdate }) end
    if v ~= nil then sets[#sets + 1] = { k = K.SET, col, coerce(v, col, level + 1) } end
  end
  local n = { k = K.UPDATE }
  n[UPD.TABLE], n[UPD.SETS], n[UPD.WHERE], n[UPD.RETURNING] = t, sets, self._where or false, self._returning or false
  return n, many
end

------------------------------------------------------------------- DELETE

local Delete = statement_class("Delete", "delete")
Delete.where, Delete.filter, Delete.filter_by, Delete.returning = Update.where, Update.where, Update.filter_by, Update.returning

function Delete:_build(params)
  local many
  if params ~= nil and is_many(params) then many = params end
  local n = { k = K.DELETE }
  n[DEL.TABLE], n[DEL.WHERE], n[DEL.RETURNING] = self.table, self._where or false, self._returning or false
  return n, many
end

-- The plan of an UPDATE or DELETE: the shape Insert:plan gives, for the one
-- executor in athanor.sql (kind "single" or "executemany"; keys "returning"
-- or "none").
local function update_delete_plan(self, params, _, level)
  local node, many = self:_build(params, (level or 1) + 1)
  local returning = self._returning
  return { kind = many and "executemany" or "single", node = node, params = many,
           keys = returning and "returning" or "none", returning = returning }
end
Update.plan, Delete.plan = update_delete_plan, update_delete_plan

return M
