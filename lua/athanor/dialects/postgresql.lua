--- PostgreSQL: its DDL type names, enum types and catalog queries
-- (reflection); what its SQL looks like is its C table
-- (csrc/sql/ath_dialect.c), read as `facts`.
local text = require("athanor.text").text

local type_names = {
  Float = "DOUBLE PRECISION", LargeBinary = "BYTEA", JSON = "JSONB", Uuid = "UUID",
  -- a named type: CREATE TYPE ... AS ENUM, made by create_all
  Enum = function(t, d)
    if not t.enum_name then
      require("athanor.errors").raise("CompileError", 4,
        "an Enum on PostgreSQL is a named type: give it a name (ath.Enum{ %s, name = \"...\" })",
        "\"" .. table.concat(t.enums, "\", \"") .. "\"")
    end
    return d:quote(t.enum_name)
  end,
}

local M = { name = "postgresql", type_names = type_names, supports_native_enum = true,
            -- implicit_returning: no lastrowid, so an inserted integer key comes back through RETURNING
            implicit_returning = true,
            serial_types = { Integer = "SERIAL", SmallInteger = "SERIAL", BigInteger = "BIGSERIAL" },
            reflection = {} }
local pg = M.reflection

--- True when the database has the enum type `name` (create_all asks before CREATE TYPE).
function M:has_type(conn, name)
  return conn:execute(text("SELECT 1 FROM pg_type WHERE typname = :n"), { n = name }):first() ~= nil
end

-- Reflection's catalog queries (schema/reflect.lua asks them through
-- dialect:reflector()), answering in the shapes reflect.lua documents.
local reflect = require("athanor.schema.reflect")
local types = require("athanor.types")
local rows, type_from_name = reflect.rows, reflect.type_from_name
local ipairs = ipairs

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

return M
