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

------------------------------------------------------------------ SQLite

local sqlite = {}

function sqlite.get_table_names(conn)
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")) do
    out[#out + 1] = r.name
  end
  return out
end

function sqlite.has_table(conn, name)
  return #rows(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n", { n = name }) > 0
end

-- PRAGMA arguments cannot be bound; the table-valued pragma functions can.
function sqlite.get_columns(conn, name)
  local out = {}
  local pks = 0
  local info = rows(conn, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(:t) ORDER BY cid", { t = name })
  for _, r in ipairs(info) do if r.pk > 0 then pks = pks + 1 end end
  for _, r in ipairs(info) do
    local ty = type_from_name(r.type)
    out[#out + 1] = { name = r.name, type = ty, nullable = r.notnull == 0 and r.pk == 0, default = r.dflt_value,
                      primary_key = r.pk > 0, pk_position = r.pk > 0 and r.pk or nil,
                      autoincrement = pks == 1 and r.pk > 0 and ty == types.Integer }
  end
  return out
end

function sqlite.get_pk_constraint(conn, name)
  local cols = {}
  for _, c in ipairs(sqlite.get_columns(conn, name)) do
    if c.primary_key then cols[c.pk_position] = c.name end
  end
  return { constrained_columns = cols, name = nil }
end

local function action(a)
  if a == nil or a == "" or a == "NO ACTION" then return nil end
  return a
end

function sqlite.get_foreign_keys(conn, name)
  local by_id, order = {}, {}
  for _, r in ipairs(rows(conn, "SELECT id, seq, \"table\" AS tbl, \"from\" AS src, \"to\" AS dst, on_update, on_delete "
      .. "FROM pragma_foreign_key_list(:t) ORDER BY id, seq", { t = name })) do
    local fk = by_id[r.id]
    if not fk then
      fk = { name = nil, constrained_columns = {}, referred_table = r.tbl, referred_columns = {},
             ondelete = action(r.on_delete), onupdate = action(r.on_update) }
      by_id[r.id] = fk
      order[#order + 1] = fk
    end
    fk.constrained_columns[#fk.constrained_columns + 1] = r.src
    fk.referred_columns[#fk.referred_columns + 1] = r.dst
  end
  return order
end

local function sqlite_index_columns(conn, index)
  local cols = {}
  for _, r in ipairs(rows(conn, "SELECT name FROM pragma_index_info(:i) ORDER BY seqno", { i = index })) do
    cols[#cols + 1] = r.name
  end
  return cols
end

function sqlite.get_indexes(conn, name)
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT name, \"unique\", origin FROM pragma_index_list(:t) ORDER BY name", { t = name })) do
    if r.origin == "c" then                      -- made by CREATE INDEX (not UNIQUE/PRIMARY KEY)
      out[#out + 1] = { name = r.name, column_names = sqlite_index_columns(conn, r.name), unique = r.unique == 1 }
    end
  end
  return out
end

function sqlite.get_unique_constraints(conn, name)
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT name, origin FROM pragma_index_list(:t) ORDER BY name", { t = name })) do
    if r.origin == "u" then out[#out + 1] = { name = nil, column_names = sqlite_index_columns(conn, r.name) } end
  end
  return out
end

------------------------------------------------------------------ PostgreSQL

local pg = {}

function pg.get_table_names(conn)
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
      .. "AND table_type = 'BASE TABLE' ORDER BY table_name")) do
    out[#out + 1] = r.table_name
  end
  return out
end

function pg.has_table(conn, name)
  return #rows(conn, "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :n",
    { n = name }) > 0
end

local function pg_enum(conn, typname)
  local vals = {}
  for _, r in ipairs(rows(conn, "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
      .. "WHERE t.typname = :n ORDER BY e.enumsortorder", { n = typname })) do
    vals[#vals + 1] = r.enumlabel
  end
  if #vals == 0 then return nil end
  vals.name = typname
  return types.Enum(vals)
end

function pg.get_pk_constraint(conn, name)
  local cols, cname = {}, nil
  for _, r in ipairs(rows(conn, "SELECT tc.constraint_name, kcu.column_name FROM information_schema.table_constraints tc "
      .. "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
      .. "AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name "
      .. "WHERE tc.table_schema = current_schema() AND tc.table_name = :t AND tc.constraint_type = 'PRIMARY KEY' "
      .. "ORDER BY kcu.ordinal_position", { t = name })) do
    cols[#cols + 1] = r.column_name
    cname = r.constraint_name
  end
  return { constrained_columns = cols, name = cname }
end

function pg.get_columns(conn, name)
  local pk = {}
  local pkc = pg.get_pk_constraint(conn, name).constrained_columns
  for _, c in ipairs(pkc) do pk[c] = true end
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT column_name, data_type, udt_name, is_nullable, column_default, "
      .. "character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns "
      .. "WHERE table_schema = current_schema() AND table_name = :t ORDER BY ordinal_position", { t = name })) do
    local ty
    if r.data_type == "USER-DEFINED" then ty = pg_enum(conn, r.udt_name) or types.Text
    elseif r.data_type == "ARRAY" then ty = types.Text
    elseif r.data_type == "numeric" then ty = r.numeric_precision and types.Numeric(r.numeric_precision, r.numeric_scale) or types.Numeric
    else ty = type_from_name(r.data_type, r.character_maximum_length) end
    local serial = type(r.column_default) == "string" and r.column_default:match("^nextval%(") ~= nil
    out[#out + 1] = { name = r.column_name, type = ty, nullable = r.is_nullable == "YES",
                      default = (not serial) and r.column_default or nil, primary_key = pk[r.column_name] or false,
                      autoincrement = serial }
  end
  return out
end

local PG_ACTIONS = { a = nil, r = "RESTRICT", c = "CASCADE", n = "SET NULL", d = "SET DEFAULT" }

function pg.get_foreign_keys(conn, name)
  local out = {}
  for _, r in ipairs(rows(conn, "SELECT con.conname, con.confdeltype, con.confupdtype, ref.relname AS referred, "
      .. "(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n) "
      .. " JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols, "
      .. "(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n) "
      .. " JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS refcols "
      .. "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
      .. "JOIN pg_namespace ns ON ns.oid = rel.relnamespace JOIN pg_class ref ON ref.oid = con.confrelid "
      .. "WHERE con.contype = 'f' AND rel.relname = :t AND ns.nspname = current_schema() ORDER BY con.conname", { t = name })) do
    local cols, refcols = {}, {}
    for c in r.cols:gmatch("[^,]+") do cols[#cols + 1] = c end
    for c in r.refcols:gmatch("[^,]+") do refcols[#refcols + 1] = c end
    out[#out + 1] = { name = r.conname, constrained_columns = cols, referred_table = r.referred,
                      referred_columns = refcols, ondelete = PG_ACTIONS[r.confdeltype], onupdate = PG_ACTIONS[r.confupdtype] }
  end
  return out
end

local function pg_index_rows(conn, name)
  return rows(conn, "SELECT i.relname AS name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary, "
    .. "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype = 'u') AS is_constraint, "
    .. "(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n) "
    .. " JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum) AS cols "
    .. "FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid "
    .. "JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE t.relname = :t AND ns.nspname = current_schema() "
    .. "ORDER BY i.relname", { t = name })
end

local function split(s)
  local out = {}
  for c in (s or ""):gmatch("[^,]+") do out[#out + 1] = c end
  return out
end

function pg.get_indexes(conn, name)
  local out = {}
  for _, r in ipairs(pg_index_rows(conn, name)) do
    if not r.is_primary and not r.is_constraint then
      out[#out + 1] = { name = r.name, column_names = split(r.cols), unique = r.is_unique }
    end
  end
  return out
end

function pg.get_unique_constraints(conn, name)
  local out = {}
  for _, r in ipairs(pg_index_rows(conn, name)) do
    if r.is_constraint then out[#out + 1] = { name = r.name, column_names = split(r.cols) } end
  end
  return out
end

local BACKENDS = { sqlite = sqlite, postgresql = pg }

--- True when the connection's database has the table (create_all/drop_all
-- ask this before each table).
function M.has_table(conn, name)
  local backend = BACKENDS[conn.dialect_name]
  if not backend then
    errors.raise("InvalidRequestError", 3, "reflection is not available for the %s dialect", tostring(conn.dialect_name))
  end
  return backend.has_table(conn, name)
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
      local backend = BACKENDS[conn.dialect_name]
      if not backend then
        errors.raise("InvalidRequestError", 4, "reflection is not available for the %s dialect", tostring(conn.dialect_name))
      end
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
