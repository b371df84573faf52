--- Schema objects (API.md §3): MetaData, Table, Column, ForeignKey and the
-- table constraints. MetaData is mutable (tables are added to it); Tables and
-- Columns are built once and then read. Columns remember their creation
-- order, so DDL follows it. The expression language gives Table and Column
-- their SQL methods in one place, sql/init.lua ("methods of classes defined
-- elsewhere").
local errors = require("athanor.errors")
local types = require("athanor.types")
local NODE = require("athanor.core").node_kinds

local type, setmetatable, ipairs, tostring, select = type, setmetatable, ipairs, tostring, select

local M = {}

------------------------------------------------------------------ MetaData
local MetaData = { __name = "athanor.MetaData" }
MetaData.__index = MetaData
M._MetaData = MetaData

--- A collection of tables (mutable: Table() adds itself).
function M.MetaData()
  return setmetatable({ tables = {}, _order = {} }, MetaData)
end

--- Tables in foreign-key dependency order (parents first); ties keep the
-- order of definition. A cycle raises CompileError naming the tables.
function MetaData:sorted_tables()
  local order, state, out = self._order, {}, {}
  local function visit(t, path)
    if state[t] == "done" then return end
    if state[t] == "visiting" then
      errors.raise("CompileError", 4, "foreign keys form a cycle through table '%s'", t.name)
    end
    state[t] = "visiting"
    for _, fk in ipairs(t.foreign_keys) do
      local parent = fk:_target_table()
      if parent and parent ~= t and parent.metadata == self then visit(parent) end
    end
    state[t] = "done"
    out[#out + 1] = t
  end
  for _, t in ipairs(order) do visit(t) end
  return out
end

--- Create the tables that don't exist yet (FK order, one transaction).
-- @param bind an Engine or a Connection
function MetaData:create_all(bind, opts) return require("athanor.schema.ddl").create_all(self, bind, opts) end
--- Drop the tables that exist (reverse FK order, one transaction).
function MetaData:drop_all(bind, opts) return require("athanor.schema.ddl").drop_all(self, bind, opts) end

function MetaData:__tostring()
  return "MetaData(" .. #self._order .. " tables)"
end

--------------------------------------------------------------- ForeignKey
local ForeignKey = { __name = "athanor.ForeignKey" }
ForeignKey.__index = ForeignKey

--- ath.ForeignKey("table.column", { ondelete =, onupdate =, name = })
function M.ForeignKey(target, opts)
  if type(target) ~= "string" or not target:find(".", 1, true) then
    errors.raise("ArgumentError", 2, "ForeignKey expects 'table.column', got %s", tostring(target))
  end
  local tname, cname = target:match("^(.*)%.([^.]+)$")
  return setmetatable({ _kind = "foreign_key", target = target, target_table = tname, target_column = cname,
                        ondelete = opts and opts.ondelete, onupdate = opts and opts.onupdate,
                        name = opts and opts.name }, ForeignKey)
end

function ForeignKey:_target_table()
  local md = self.parent and self.parent.table and self.parent.table.metadata
  return md and md.tables[self.target_table]
end

------------------------------------------------------------- Constraints
local function constraint(kind)
  local mt = { __name = "athanor." .. kind }
  mt.__index = mt
  return mt
end
local PKC, UC, CC, IX = constraint("PrimaryKeyConstraint"), constraint("UniqueConstraint"),
  constraint("CheckConstraint"), constraint("Index")

local function names_and_opts(...)
  local n = select("#", ...)
  local last = select(n, ...)
  local opts = type(last) == "table" and getmetatable(last) == nil and last or nil
  local cols = {}
  for i = 1, opts and n - 1 or n do
    local c = select(i, ...)
    cols[#cols + 1] = type(c) == "table" and c.name or c
  end
  return cols, opts or {}
end

function M.PrimaryKeyConstraint(...)
  local cols, opts = names_and_opts(...)
  return setmetatable({ _kind = "primary_key", columns = cols, name = opts.name }, PKC)
end
function M.UniqueConstraint(...)
  local cols, opts = names_and_opts(...)
  return setmetatable({ _kind = "unique", columns = cols, name = opts.name }, UC)
end
function M.CheckConstraint(sqltext, opts)
  if type(sqltext) ~= "string" then
    errors.raise("ArgumentError", 2, "CheckConstraint expects SQL text, got %s", type(sqltext))
  end
  return setmetatable({ _kind = "check", sqltext = sqltext, name = opts and opts.name }, CC)
end
--- ath.Index("ix_name", users.c.name, ..., { unique = true }); added to the
-- table of its first column.
function M.Index(name, ...)
  if type(name) ~= "string" then errors.raise("ArgumentError", 2, "Index needs a name, got %s", type(name)) end
  local cols, opts = names_and_opts(...)
  local ix = setmetatable({ _kind = "index", name = name, columns = cols, unique = opts.unique or false }, IX)
  local first = select(1, ...)
  if type(first) == "table" and first.table then
    local t = first.table
    t.indexes[#t.indexes + 1] = ix
    ix.table = t
  end
  return ix
end

------------------------------------------------------------------ Column
-- Methods: those below, and every operator and method of an expression
-- (eq, like, label, ...: sql/elements.lua), applied in sql/init.lua.
local Column = { __name = "athanor.Column" }
Column.__index = Column
M._Column = Column

local COLUMN_OPTS = { primary_key = true, nullable = true, unique = true, index = true, default = true,
                      server_default = true, onupdate = true, autoincrement = true, comment = true,
                      key = true }

-- Creation counter: a Column remembers when it was made (API.md §0), so a
-- table literal of columns (an ORM model's fields) can be put back in the
-- order it was written.
local column_serial = 0

--- ath.Column(name, type, [ForeignKey/constraints...], [options])
-- The options table comes last. A name may be omitted where the ORM gives it.
function M.Column(...)
  local args = { n = select("#", ...), ... }
  local i = 1
  column_serial = column_serial + 1
  local col = setmetatable({ _kind = "column", foreign_keys = {}, constraints = {}, _creation_order = column_serial },
                           Column)
  if type(args[1]) == "string" then col.name = args[1]; i = 2 end
  local ty = args[i]
  if types.is_type(ty) then col.type = ty; i = i + 1 else col.type = types.Text end
  for j = i, args.n do
    local a = args[j]
    if type(a) ~= "table" then
      errors.raise("ArgumentError", 2, "Column '%s': unexpected argument %s", tostring(col.name), tostring(a))
    elseif a._kind == "foreign_key" then
      a.parent = col
      col.foreign_keys[#col.foreign_keys + 1] = a
    elseif a._kind then
      col.constraints[#col.constraints + 1] = a
    elseif j == args.n then
      for k, v in pairs(a) do
        if not COLUMN_OPTS[k] then
          errors.raise("ArgumentError", 2, "Column '%s': unknown option '%s'", tostring(col.name), tostring(k))
        end
        col[k] = v
      end
    else
      errors.raise("ArgumentError", 2, "Column '%s': the options table must come last", tostring(col.name))
    end
  end
  col.primary_key = col.primary_key or false
  if col.nullable == nil then col.nullable = not col.primary_key end
  return col
end

function Column:__tostring()
  return (self.table and (self.table.name .. ".") or "") .. tostring(self.name)
end

------------------------------------------------------------------- Table
-- Methods: those below; alias, join, outerjoin, select (sql/selectable.lua)
-- and insert, update, delete (sql/dml.lua), applied in sql/init.lua.
local Table = { __name = "athanor.Table" }
Table.__index = Table
M._Table = Table

local build_table

--- ath.Table(name, metadata, Column..., constraints..., [options])
-- options.autoload_with = engine or connection: the columns, keys,
-- constraints and indexes come from the database (columns given here
-- replace the reflected ones of the same name).
function M.Table(name, metadata, ...)
  local n = select("#", ...)
  local last = n > 0 and select(n, ...) or nil
  if type(last) == "table" and getmetatable(last) == nil and last.autoload_with ~= nil and type(name) == "string" then
    local reflected, indexes = require("athanor.schema.reflect").table_args(M, name, last.autoload_with)
    local given, args = {}, {}
    for i = 1, n - 1 do
      local a = select(i, ...)
      args[#args + 1] = a
      if getmetatable(a) == Column and a.name then given[a.name] = true end
    end
    local merged = {}
    for _, a in ipairs(reflected) do
      if not (getmetatable(a) == Column and given[a.name]) then merged[#merged + 1] = a end
    end
    for _, a in ipairs(args) do merged[#merged + 1] = a end
    local opts = {}
    for k, v in pairs(last) do if k ~= "autoload_with" then opts[k] = v end end
    merged[#merged + 1] = opts
    local t = build_table(name, metadata, merged)
    for _, ix in ipairs(indexes) do
      local cols = {}
      for _, cname in ipairs(ix.column_names) do cols[#cols + 1] = t.c[cname] end
      if #cols > 0 then
        cols[#cols + 1] = { unique = ix.unique }
        M.Index(ix.name, (table.unpack or unpack)(cols))            -- luacheck: ignore
      end
    end
    return t
  end
  return build_table(name, metadata, { n = n, ... })
end

--- ath.Table(name, metadata, Column..., constraints..., [options])
-- @raise ArgumentError for a duplicate column or table, or a bad argument
function build_table(name, metadata, args)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "Table name must be a non-empty string, got %s", tostring(name))
  end
  if getmetatable(metadata) ~= MetaData then
    errors.raise("ArgumentError", 2, "Table '%s': the second argument must be a MetaData", name)
  end
  if metadata.tables[name] then
    errors.raise("ArgumentError", 2, "Table '%s' is already defined for this MetaData", name)
  end
  local t = setmetatable({ _kind = "table", k = NODE.TABLE, s = name, name = name, metadata = metadata, columns = {}, c = {},
                           primary_key = {}, foreign_keys = {}, constraints = {}, indexes = {} }, Table)
  local n = args.n or #args
  for i = 1, n do
    local a = args[i]
    if type(a) ~= "table" then
      errors.raise("ArgumentError", 2, "Table '%s': unexpected argument %s", name, tostring(a))
    elseif getmetatable(a) == Column then
      if a.name == nil then errors.raise("ArgumentError", 2, "Table '%s': a Column has no name", name) end
      if t.c[a.name] then errors.raise("ArgumentError", 2, "Table '%s': duplicate column '%s'", name, a.name) end
      a.table = t
      a.k, a.s, a.t = NODE.COLUMN, a.name, t          -- the compiler's view (csrc/sql/ath_sql.h)
      t.columns[#t.columns + 1] = a
      t.c[a.name] = a
      if a.primary_key then t.primary_key[#t.primary_key + 1] = a end
      for _, fk in ipairs(a.foreign_keys) do t.foreign_keys[#t.foreign_keys + 1] = fk end
    elseif a._kind == "primary_key" then
      for _, cname in ipairs(a.columns) do
        local col = t.c[cname]
        if not col then errors.raise("ArgumentError", 2, "Table '%s': PrimaryKeyConstraint names unknown column '%s'", name, tostring(cname)) end
        col.nullable = false
        col.primary_key = true
      end
      -- the constraint's order is the key's order; flagged columns it names are not listed twice
      local pk = {}
      for _, cname in ipairs(a.columns) do pk[#pk + 1] = t.c[cname] end
      for _, col in ipairs(t.primary_key) do
        local listed = false
        for _, c in ipairs(pk) do if c == col then listed = true end end
        if not listed then pk[#pk + 1] = col end
      end
      t.primary_key = pk
      t._pk_constraint = a
    elseif a._kind then
      t.constraints[#t.constraints + 1] = a
    elseif i == n then
      t.options = a
    else
      errors.raise("ArgumentError", 2, "Table '%s': the options table must come last", name)
    end
  end
  for _, col in ipairs(t.columns) do
    if col.index then
      t.indexes[#t.indexes + 1] = setmetatable({ _kind = "index", name = "ix_" .. name .. "_" .. col.name,
                                                 columns = { col.name }, unique = col.unique or false, table = t }, IX)
    end
  end
  metadata.tables[name] = t
  metadata._order[#metadata._order + 1] = t
  return t
end

function Table:__tostring() return self.name end

--- The column the database numbers itself, or nil: the only primary key
-- column, an integer, without autoincrement = false or a server default.
-- (DDL makes it SERIAL/AUTO_INCREMENT; inserts read its value back.)
function Table:_autoincrement_column()
  local col = self.primary_key[1]
  if #self.primary_key ~= 1 or col.autoincrement == false or col.server_default ~= nil then return nil end
  local n = col.type._name
  if n == "Integer" or n == "BigInteger" or n == "SmallInteger" then return col end
  return nil
end

--- ath.inspect(engine or connection): the database's tables, columns,
-- keys, constraints and indexes (athanor.schema.reflect).
function M.inspect(bind) return require("athanor.schema.reflect").inspect(bind) end

-- every type is part of the schema's public names (ath.Integer, ...)
for _, name in ipairs({ "Integer", "SmallInteger", "BigInteger", "Float", "Numeric", "Boolean", "String",
                        "Text", "Date", "DateTime", "Time", "LargeBinary", "JSON", "Enum", "Uuid" }) do
  M[name] = types[name]
end

return M
