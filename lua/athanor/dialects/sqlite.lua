--- SQLite: its DDL type names and catalog queries (reflection); what its SQL
-- looks like is its C table (csrc/sql/ath_dialect.c), read as `facts`.
local type_names = {
  Boolean = "BOOLEAN",                  -- stored as 0/1 (the type converts)
  DateTime = "DATETIME", Float = "FLOAT", Uuid = "CHAR(32)", JSON = "JSON",
}
local sqlite = {}
local M = { name = "sqlite", type_names = type_names, supports_native_enum = false, reflection = sqlite }

-- Reflection's catalog queries (schema/reflect.lua asks them through
-- dialect:reflector()), answering in the shapes reflect.lua documents.
local reflect = require("athanor.schema.reflect")
local types = require("athanor.types")
local rows, type_from_name, action = reflect.rows, reflect.type_from_name, reflect.action
local ipairs = ipairs

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

return M
