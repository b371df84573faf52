--- INSERT, UPDATE and DELETE (API.md §4). The statement objects are
-- generative like selects; their compiler node is built when they are
-- compiled or executed, because column defaults (a Lua function is called
-- per row) and the rows given to execute() belong to each execution.
local errors = require("athanor.errors")
local schema = require("athanor.schema")
local el = require("athanor.sql.elements")
local add_criteria = require("athanor.sql.selectable").add_criteria
local unpack = require("athanor.compat").unpack

local K, coerce, bind = el.K, el.coerce, el.bind
-- child slots by name (core.node_slots; ATH_NODE_KINDS in csrc/sql/ath_sql.h)
local SLOTS = require("athanor.core").node_slots
local INS, UPD, DEL, CONFLICT = SLOTS.INSERT, SLOTS.UPDATE, SLOTS.DELETE, SLOTS.ONCONFLICT

-- An ONCONFLICT node: the target columns, the SET list (false: DO NOTHING), the WHERE.
local function conflict_node(target, sets, where)
  local n = { k = K.ONCONFLICT }
  n[CONFLICT.TARGET], n[CONFLICT.SETS], n[CONFLICT.WHERE] = target, sets, where
  return n
end
local type, setmetatable, ipairs, pairs, select, tostring = type, setmetatable, ipairs, pairs, select, tostring
local Table = schema._Table

local M = {}

local EMPTY = {}

local function check_table(t, what, level)
  if type(t) ~= "table" or getmetatable(t) ~= Table then
    errors.raise("ArgumentError", level + 1, "%s() expects a Table, got %s", what, type(t))
  end
end

local function check_keys(t, row, level)
  for key in pairs(row) do
    if type(key) ~= "string" or not t.c[key] then
      errors.raise("ArgumentError", level + 1, "Table '%s' has no column '%s'", t.name, tostring(key))
    end
  end
end

local function copy(stmt, mt)
  local c = {}
  for k, v in pairs(stmt) do c[k] = v end
  return setmetatable(c, mt)
end

-- An Insert's fields in one constructor (no rehashing while copying).
local function copy_insert(stmt)
  return setmetatable({ table = stmt.table, _rows = stmt._rows, _returning = stmt._returning,
                        _conflict = stmt._conflict, _select = stmt._select, _select_cols = stmt._select_cols },
                      getmetatable(stmt))
end

local function returning_list(level, ...)
  local out = { k = K.LIST }
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if el.is_from(c) then
      for _, col in ipairs(c.columns) do out[#out + 1] = col end
    elseif el.is_node(c) then
      out[#out + 1] = c
    else
      errors.raise("ArgumentError", level + 1, "returning() expects columns or expressions, got %s", type(c))
    end
  end
  return out
end

-- A column's Lua-side default for one row (a function is called each time).
local function default_of(col)
  local d = col.default
  if type(d) == "function" then return d() end
  return d
end

------------------------------------------------------------------- INSERT

local Insert = { __name = "athanor.Insert" }
M.Insert = Insert
Insert.__index = function(stmt, key)
  if key == "excluded" then                          -- ins.excluded.col for ON CONFLICT DO UPDATE
    local t = rawget(stmt, "table")
    local row = { k = K.TABLE, s = "excluded", f = K.F_PSEUDO }
    local ns = {}                                    -- column name -> column of the proposed row
    for _, col in ipairs(t.columns) do
      ns[col.name] = setmetatable({ k = K.COLUMN, s = col.name, t = row, name = col.name, type = col.type,
                                    table = row }, schema._Column)
    end
    rawset(stmt, "excluded", ns)
    return ns
  end
  return Insert[key]
end

--- ath.insert(t) / t:insert()
function M.insert(t)
  check_table(t, "insert", 2)
  return setmetatable({ table = t }, Insert)
end
function Table:insert() return M.insert(self) end

--- :values{ col = v, ... } (one row) or :values{ {...}, {...} } (many rows).
function Insert:values(rows)
  if type(rows) ~= "table" then errors.raise("ArgumentError", 2, "values() expects a table, got %s", type(rows)) end
  local c = copy_insert(self)
  if type(rows[1]) == "table" and not el.is_node(rows[1]) and rows[1]._ath_type == nil then
    for _, r in ipairs(rows) do check_keys(self.table, r, 2) end
    c._rows = rows
  else
    check_keys(self.table, rows, 2)
    c._rows = { rows }
  end
  return c
end

--- :from_select({ cols... }, select)
function Insert:from_select(cols, select_stmt)
  if type(cols) ~= "table" or not el.is_selectable(select_stmt) then
    errors.raise("ArgumentError", 2, "from_select() expects a list of columns and a select")
  end
  local c = copy_insert(self)
  local list = { k = K.LIST }
  for i, col in ipairs(cols) do
    if type(col) == "string" then
      if not self.table.c[col] then errors.raise("ArgumentError", 2, "Table '%s' has no column '%s'", self.table.name, col) end
      col = self.table.c[col]
    end
    list[i] = col
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
  check_keys(self.table, opts.set, 2)
  local sets = { k = K.LIST }
  for _, col in ipairs(self.table.columns) do
    local v = opts.set[col.name]
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

-- The plan of a one-row insert for the set of columns it names (a bit per
-- column: given, or with a Lua default), cached on the table: the column
-- list (frozen: the compiler converts it once) and where the key is.
local MAX_PLAN_COLUMNS = 50                          -- bits of an exact integer
local function one_row_plan(t, row)
  local columns = t.columns
  local ncols = #columns
  local mask
  if ncols <= MAX_PLAN_COLUMNS then
    mask = 0
    local bit = 1
    for i = 1, ncols do
      local col = columns[i]
      if row[col.name] ~= nil or col.default ~= nil then mask = mask + bit end
      bit = bit + bit
    end
    local plans = t._insert_plans
    local plan = plans and plans[mask]
    if plan then return plan end
  end
  local cols = insert_columns(t, { row })
  local collist = { k = K.LIST, _frozen = true }
  for i, col in ipairs(cols) do collist[i] = col end
  local plan = { cols = cols, collist = collist, ncols = #cols, pk = {} }
  for i, col in ipairs(t.primary_key) do
    local pos
    for j, c in ipairs(cols) do if c == col then pos = j end end
    plan.pk[i] = { col = col, pos = pos, autoinc = t:_autoincrement_column() == col }
  end
  if mask then
    t._insert_plans = t._insert_plans or {}
    t._insert_plans[mask] = plan
  end
  return plan
end

-- One row's node (a LIST of values in plan order) and its key values.
local function one_row(plan, src, level)
  local cols, null = plan.cols, errors.null
  -- a VALUES row holds the converted values themselves (no node per value);
  -- a SQL expression among them makes it a LIST of nodes
  local row, has_expr = { k = K.VALUES }, false
  for i = 1, plan.ncols do
    local col = cols[i]
    local v = src[col.name]
    if v == nil then v = default_of(col) end
    if v == nil then v = null
    elseif el.is_node(v) then has_expr = true
    elseif v ~= null then
      local proc = col.type._bind
      if proc then v = proc(v, col.name) end
    end
    row[i] = v
  end
  if has_expr then
    row.k = K.LIST
    for i = 1, plan.ncols do
      local v = row[i]
      if not el.is_node(v) then row[i] = setmetatable({ k = K.BIND, v = v, type = cols[i].type }, el.Expr) end
    end
  end
  local pk
  local pkplan = plan.pk
  if #pkplan > 0 then
    pk = { values = {}, count = #pkplan }
    for i = 1, #pkplan do
      local p = pkplan[i]
      local given = src[p.col.name]
      local v = p.pos and row[p.pos]
      if has_expr and el.is_node(v) and v.k == K.BIND then v = v.v end   -- (a user's value may hold a field k)
      if given ~= nil and given ~= null and not el.is_node(given) then pk.values[i] = given
      elseif given == nil and v ~= nil and v ~= null and not el.is_node(v) then pk.values[i] = v  -- a Lua default
      elseif p.autoinc and pk.autoinc_index == nil then pk.autoinc_index = i; pk.column = p.col end
    end
  end
  return row, pk
end

--- The compiler node and execution plan for this insert.
-- @param params nil, one row table, or an array of row tables (executemany)
-- @return node, many (array of processed rows keyed by column name, or nil), pk info
function Insert:_build(params, level)
  local t = self.table
  local n = { k = K.INSERT, t, false, false, false, self._returning or false, self._conflict or false }
  if self._select then
    n[INS.COLUMNS], n[INS.SELECT] = self._select_cols, self._select
    return n
  end
  local rows = self._rows or {}
  local many
  if params ~= nil then
    if type(params) ~= "table" then errors.raise("ArgumentError", level + 1, "execute() parameters must be a table") end
    if type(params[1]) == "table" and params[1]._ath_type == nil then
      for _, r in ipairs(params) do check_keys(t, r, level + 1) end
      many = params
    else
      check_keys(t, params, level + 1)
      local base = rows[1] or {}
      if #rows > 1 then errors.raise("ArgumentError", level + 1, "execute() parameters cannot be merged into a multi-row values()") end
      local merged = {}
      for k, v in pairs(base) do merged[k] = v end
      for k, v in pairs(params) do merged[k] = v end
      rows = { merged }
    end
  end
  if not many and #rows <= 1 then                     -- one row (none: every column's default)
    local src = rows[1] or EMPTY
    local plan = one_row_plan(t, src)
    n[INS.COLUMNS] = plan.collist
    local row, pk = one_row(plan, src, level + 1)
    n[INS.ROWS] = { k = K.LIST, row }
    return n, nil, pk
  end
  local cols = insert_columns(t, many or rows)
  local collist = { k = K.LIST }
  for i, col in ipairs(cols) do collist[i] = col end
  n[INS.COLUMNS] = collist
  if many then
    -- one row of named placeholders; each execution's row is processed here
    local row = { k = K.LIST }
    for i, col in ipairs(cols) do
      row[i] = { k = K.BIND, s = col.name, f = K.F_NAMED }
    end
    n[INS.ROWS] = { k = K.LIST, row }
    local processed = {}
    for r, src in ipairs(many) do
      local out = {}
      for _, col in ipairs(cols) do
        local v = src[col.name]
        if v == nil then v = default_of(col) end
        if v == nil or v == errors.null then v = errors.null
        elseif el.is_node(v) then
          errors.raise("ArgumentError", level + 1, "row %d: column '%s': SQL expressions are not allowed in executemany rows", r, col.name)
        else
          local proc = col.type._bind
          if proc then v = proc(v, col.name) end
        end
        out[col.name] = v
      end
      processed[r] = out
    end
    return n, processed
  end
  local rowlist = { k = K.LIST }
  for r, src in ipairs(rows) do
    local row = { k = K.LIST }
    for i, col in ipairs(cols) do
      local v = src[col.name]
      if v == nil then v = default_of(col) end
      if v == nil then v = errors.null end
      row[i] = el.is_node(v) and v or bind(v, col, level + 1)
    end
    rowlist[r] = row
  end
  n[INS.ROWS] = rowlist
  return n                                           -- several rows: no single inserted key
end

------------------------------------------------------------------- UPDATE

-- A statement class whose constructor ath.<what>(t) is also t:<what>().
local function statement_class(name, what)
  local cls = { __name = "athanor." .. name }
  cls.__index = cls
  M[name] = cls
  M[what] = function(t)
    check_table(t, what, 2)
    return setmetatable({ table = t }, cls)
  end
  Table[what] = function(self) return M[what](self) end
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
  check_keys(t, kw, 2)
  local crit = {}
  for _, col in ipairs(t.columns) do
    if kw[col.name] ~= nil then crit[#crit + 1] = col:eq(kw[col.name]) end
  end
  return self:where(el.and_(unpack(crit)))
end

--- :values{ col = value | expression }
function Update:values(kw)
  if type(kw) ~= "table" then errors.raise("ArgumentError", 2, "values() expects a table, got %s", type(kw)) end
  check_keys(self.table, kw, 2)
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
function Update:_build(params, level)
  local t = self.table
  local values = self._values
  local many
  if params ~= nil and type(params[1]) == "table" and params[1]._ath_type == nil then many = params end
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
    if v ~= nil then sets[#sets + 1] = { k = K.SET, col, el.is_node(v) and v or bind(v, col, level + 1) } end
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
  if params ~= nil and type(params[1]) == "table" and params[1]._ath_type == nil then many = params end
  local n = { k = K.DELETE }
  n[DEL.TABLE], n[DEL.WHERE], n[DEL.RETURNING] = self.table, self._where or false, self._returning or false
  return n, many
end

return M
