--- DDL: CREATE/DROP TABLE, INDEX and (PostgreSQL) enum TYPE statements per
-- dialect, and create_all/drop_all in foreign-key dependency order.
-- DDL contains no values to bind: names are quoted by the dialect, and the
-- texts of server_default and CheckConstraint are SQL the user wrote.
local errors = require("athanor.errors")
local dialects = require("athanor.dialects")

local ipairs, concat, tostring = ipairs, table.concat, tostring

local M = {}

local function quoted_list(d, names)
  local out = {}
  for i, n in ipairs(names) do out[i] = d:quote(n) end
  return concat(out, ", ")
end

-- How a dialect spells the key the database numbers: its own type
-- (PostgreSQL SERIAL), or a suffix (MySQL AUTO_INCREMENT); SQLite numbers
-- an INTEGER PRIMARY KEY by itself.
local function column_ddl(t, col, d)
  local autoinc = t:_autoincrement_column() == col
  local serial = autoinc and d.serial_types and d.serial_types[col.type._name]
  local parts = { d:quote(col.name), serial or d:type_ddl(col.type) }
  if col.server_default ~= nil then parts[#parts + 1] = "DEFAULT " .. tostring(col.server_default) end
  if not col.nullable then parts[#parts + 1] = "NOT NULL" end
  if autoinc and d.autoincrement_suffix then parts[#parts + 1] = d.autoincrement_suffix end
  if col.unique and not col.index then parts[#parts + 1] = "UNIQUE" end
  return concat(parts, " ")
end

--- CREATE TABLE text for t in dialect d (a dialect object or name).
function M.create_table_sql(t, d)
  if type(d) == "string" then d = dialects.get(d) end
  local lines = {}
  for _, col in ipairs(t.columns) do lines[#lines + 1] = column_ddl(t, col, d) end
  if #t.primary_key > 0 then
    local names = {}
    for i, col in ipairs(t.primary_key) do names[i] = col.name end
    local name = t._pk_constraint and t._pk_constraint.name
    lines[#lines + 1] = (name and ("CONSTRAINT " .. d:quote(name) .. " ") or "") .. "PRIMARY KEY (" .. quoted_list(d, names) .. ")"
  end
  for _, c in ipairs(t.constraints) do
    local prefix = c.name and ("CONSTRAINT " .. d:quote(c.name) .. " ") or ""
    if c._kind == "unique" then
      lines[#lines + 1] = prefix .. "UNIQUE (" .. quoted_list(d, c.columns) .. ")"
    elseif c._kind == "check" then
      lines[#lines + 1] = prefix .. "CHECK (" .. c.sqltext .. ")"
    end
  end
  for _, fk in ipairs(t.foreign_keys) do
    local s = (fk.name and ("CONSTRAINT " .. d:quote(fk.name) .. " ") or "") ..
      "FOREIGN KEY (" .. d:quote(fk.parent.name) .. ") REFERENCES " .. d:quote(fk.target_table) ..
      " (" .. d:quote(fk.target_column) .. ")"
    if fk.ondelete then s = s .. " ON DELETE " .. fk.ondelete:upper() end
    if fk.onupdate then s = s .. " ON UPDATE " .. fk.onupdate:upper() end
    lines[#lines + 1] = s
  end
  return "CREATE TABLE " .. d:quote(t.name) .. " (\n\t" .. concat(lines, ",\n\t") .. "\n)"
end

function M.drop_table_sql(t, d)
  if type(d) == "string" then d = dialects.get(d) end
  return "DROP TABLE " .. d:quote(t.name)
end

function M.create_index_sql(ix, d)
  if type(d) == "string" then d = dialects.get(d) end
  return ("CREATE %sINDEX %s ON %s (%s)"):format(ix.unique and "UNIQUE " or "", d:quote(ix.name),
    d:quote(ix.table.name), quoted_list(d, ix.columns))
end

-- Enum types a table needs (PostgreSQL creates them as types).
local function enums_of(t)
  local out = {}
  for _, col in ipairs(t.columns) do
    if col.type._name == "Enum" then out[#out + 1] = col.type end
  end
  return out
end

function M.create_enum_sql(e, d)
  local vals = {}
  for i, v in ipairs(e.enums) do vals[i] = "'" .. v:gsub("'", "''") .. "'" end
  return "CREATE TYPE " .. d:quote(e.enum_name) .. " AS ENUM (" .. concat(vals, ", ") .. ")"
end

local has_table = require("athanor.schema.reflect").has_table


-- Run fn(conn) in one transaction on an Engine or a Connection.
local function with_transaction(bind, fn)
  if type(bind) ~= "table" then
    errors.raise("ArgumentError", 4, "create_all/drop_all need an Engine or a Connection, got %s", type(bind))
  end
  return require("athanor.engine.connection").with_connection(bind, true, fn)
end

--- Create every table (and index, and PostgreSQL enum type) of metadata
-- that does not exist yet, parents before children, in one transaction.
function M.create_all(metadata, bind, opts)
  local checkfirst = not (opts and opts.checkfirst == false)
  with_transaction(bind, function(conn)
    local d = dialects.get(conn.dialect_name)
    for _, t in ipairs(metadata:sorted_tables()) do
      if not (checkfirst and has_table(conn, t.name)) then
        if d.supports_native_enum then
          for _, e in ipairs(enums_of(t)) do
            if not d:has_type(conn, e.enum_name) then conn:exec_driver_sql(M.create_enum_sql(e, d)) end
          end
        end
        conn:exec_driver_sql(M.create_table_sql(t, d))
        for _, ix in ipairs(t.indexes) do conn:exec_driver_sql(M.create_index_sql(ix, d)) end
      end
    end
  end)
end

--- Drop every table of metadata that exists, children before parents, in
-- one transaction (PostgreSQL enum types of dropped tables go too).
function M.drop_all(metadata, bind, opts)
  local checkfirst = not (opts and opts.checkfirst == false)
  with_transaction(bind, function(conn)
    local d = dialects.get(conn.dialect_name)
    local sorted = metadata:sorted_tables()
    local enums = {}
    for i = #sorted, 1, -1 do
      local t = sorted[i]
      if not checkfirst or has_table(conn, t.name) then
        conn:exec_driver_sql(M.drop_table_sql(t, d))
        for _, e in ipairs(enums_of(t)) do enums[e.enum_name] = true end
      end
    end
    if d.supports_native_enum then
      for name in pairs(enums) do conn:exec_driver_sql("DROP TYPE IF EXISTS " .. d:quote(name)) end
    end
  end)
end

return M
