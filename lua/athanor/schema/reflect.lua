--- Reflection: what a database says about its tables (API.md §3
-- `autoload_with`, §10 `ath.inspect`). Catalog queries bind every name;
-- each backend answers in the same shapes:
--   get_columns -> { { name =, type =, nullable =, default =, primary_key =, autoincrement = }, ... }
--   get_pk_constraint -> { constrained_columns = {...}, name = }
--   get_foreign_keys -> { { name =, constrained_columns =, referred_table =, referred_columns =,
--                           ondelete =, onupdate = }, ... }
--   get_indexes -> { { name =, column_names =, unique = }, ... }
--   get_unique_constraints -> { { name =, column_names = }, ... }
local errors = require("athanor.errors")
local types = require("athanor.types")
local text = require("athanor.text").text

local ipairs, tonumber, type, setmetatable, tostring = ipairs, tonumber, type, setmetatable, tostring
local unpack = require("athanor.compat").unpack

local M = {}

------------------------------------------------------------------ types

-- Database type names (lower case, without arguments) and the athanor type
-- each reads as; String and Numeric take the length/precision given.
local TIMESTAMPTZ = types.DateTime({ timezone = true })
local TYPE_NAMES = {                                  -- names of several words
  ["character varying"] = types.String, ["double precision"] = types.Float,
  ["timestamp without time zone"] = types.DateTime, ["timestamp with time zone"] = TIMESTAMPTZ,
  ["time without time zone"] = types.Time,
}
for names, ty in pairs({                              -- one-word names, several to a type
  ["integer int int4 serial mediumint"] = types.Integer, ["bigint int8 bigserial"] = types.BigInteger,
  ["smallint int2 tinyint"] = types.SmallInteger, ["varchar nvarchar char character bpchar"] = types.String,
  ["text clob"] = types.Text, ["real float double float8 float4"] = types.Float,
  ["numeric decimal"] = types.Numeric, ["boolean bool"] = types.Boolean, ["date"] = types.Date,
  ["datetime timestamp"] = types.DateTime, ["timestamptz"] = TIMESTAMPTZ, ["time"] = types.Time,
  ["blob bytea longblob"] = types.LargeBinary, ["json jsonb"] = types.JSON, ["uuid"] = types.Uuid,
}) do
  for n in names:gmatch("%S+") do TYPE_NAMES[n] = ty end
end

-- A database type name ("VARCHAR(50)", "character varying", "int8") as an
-- athanor type; an unknown or empty one (SQLite allows both) reads as Text.
local function type_from_name(name, length, precision, scale)
  local n = (name or ""):lower()
  local base, args = n:match("^%s*([%a ]-)%s*%(([^)]*)%)")
  base = base or n:match("^%s*(.-)%s*$")
  if args then
    local a, b = args:match("^%s*(%d+)%s*,?%s*(%d*)")
    length = length or tonumber(a)
    precision, scale = precision or tonumber(a), scale or tonumber(b)
  end
  local ty = TYPE_NAMES[base] or types.Text
  if ty == types.String and length then return types.String(length) end
  if ty == types.Numeric and precision then return types.Numeric(precision, scale) end
  return ty
end
M.type_from_name = type_from_name

local function rows(conn, sql, params)
  return conn:execute(text(sql), params):all()
end

M.rows = rows

-- A foreign key's ON DELETE/UPDATE as reflected (NO ACTION: none).
function M.action(a)
  if a == nil or a == "" or a == "NO ACTION" then return nil end
  return a
end

-- The dialect object of a connection (its catalog queries: dialect:reflector()).
local function reflector(conn, level)
  return require("athanor.dialects").get(conn.dialect_name):reflector(level + 1)
end

--- True when the connection's database has the table (create_all/drop_all
-- ask this before each table).
function M.has_table(conn, name)
  return reflector(conn, 2).has_table(conn, name)
end

--------------------------------------------------------------- Inspector

local Inspector = { __name = "athanor.Inspector" }
Inspector.__index = Inspector
M.Inspector = Inspector

-- Run fn(conn) on the bind: a Connection as it is, an Engine through a
-- connection of its own.
local function with_conn(bind, fn)
  return require("athanor.engine.connection").with_connection(bind, false, fn)
end

for _, method in ipairs({ "get_table_names", "has_table", "get_columns", "get_pk_constraint", "get_foreign_keys",
                          "get_indexes", "get_unique_constraints" }) do
  Inspector[method] = function(self, ...)
    local args = { ... }
    return with_conn(self.bind, function(conn)
      local backend = reflector(conn, 4)
      if method ~= "get_table_names" and method ~= "has_table" and not backend.has_table(conn, args[1]) then
        errors.raise("NoSuchTableError", 4, "Table '%s' does not exist", tostring(args[1]))
      end
      return backend[method](conn, args[1])
    end)
  end
end

--- ath.inspect(engine or connection)
function M.inspect(bind)
  if type(bind) ~= "table" or not (bind.dialect_name or bind.connect) then
    errors.raise("ArgumentError", 2, "inspect() expects an Engine or a Connection, got %s", type(bind))
  end
  return setmetatable({ bind = bind }, Inspector)
end

--- The Column and constraint arguments of a reflected table (used by
-- ath.Table(name, metadata, { autoload_with = bind })).
function M.table_args(schema, name, bind)
  local insp = M.inspect(bind)
  local cols = insp:get_columns(name)
  local pk = insp:get_pk_constraint(name).constrained_columns
  local fks = insp:get_foreign_keys(name)
  local uniques = insp:get_unique_constraints(name)
  local indexes = insp:get_indexes(name)
  local args = {}
  local single_fk = {}
  for _, fk in ipairs(fks) do
    if #fk.constrained_columns == 1 then single_fk[fk.constrained_columns[1]] = fk end
  end
  for _, c in ipairs(cols) do
    local parts = { c.name, c.type }
    local fk = single_fk[c.name]
    if fk then
      parts[#parts + 1] = schema.ForeignKey(fk.referred_table .. "." .. fk.referred_columns[1],
        { ondelete = fk.ondelete, onupdate = fk.onupdate, name = fk.name })
    end
    parts[#parts + 1] = { nullable = c.nullable, server_default = c.default,
                          autoincrement = c.autoincrement and "auto" or false }
    args[#args + 1] = schema.Column(unpack(parts))
  end
  if #pk > 0 then args[#args + 1] = schema.PrimaryKeyConstraint(unpack(pk)) end
  for _, u in ipairs(uniques) do
    local cu = { unpack(u.column_names) }
    cu[#cu + 1] = { name = u.name }
    args[#args + 1] = schema.UniqueConstraint(unpack(cu))
  end
  return args, indexes
end

return M
