--- Dialects: what differs between databases on the Lua side (identifier
-- quoting, type names in DDL, feature flags). Each dialect overrides the base
-- table (dialects/<name>.lua); no `if dialect ==` ladders elsewhere.
local errors = require("athanor.errors")
local quote_identifier = require("athanor.core").quote_identifier

local M = {}

local base = {
  name = "default",
  supports_native_enum = false,
}
base.__index = base
M.base = base

--- Quote an identifier when it needs it: a reserved word, upper-case
-- letters, a leading digit, or anything but [a-z0-9_]. Quote characters
-- inside the name are doubled. The rules live in the C compiler
-- (csrc/sql/ath_node.c) so DDL and compiled statements agree.
function base:quote(name)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "identifier must be a non-empty string, got %s", tostring(name))
  end
  return quote_identifier(self.name, name)
end

--- The DDL spelling of a type for this dialect.
function base:type_ddl(t)
  local f = self.type_names[t._name] or base.type_names[t._name]
  if type(f) == "function" then return f(t, self) end
  return f
end

base.type_names = {
  Integer = "INTEGER", SmallInteger = "SMALLINT", BigInteger = "BIGINT", Float = "FLOAT",
  Numeric = function(t) return t.precision and ("NUMERIC(%d, %d)"):format(t.precision, t.scale or 0) or "NUMERIC" end,
  Boolean = "BOOLEAN",
  String = function(t) return t.length and ("VARCHAR(%d)"):format(t.length) or "VARCHAR" end,
  Text = "TEXT", Date = "DATE", Time = "TIME",
  DateTime = function(t) return t.timezone and "TIMESTAMP WITH TIME ZONE" or "TIMESTAMP" end,
  LargeBinary = "BLOB", JSON = "JSON", Uuid = "CHAR(32)",
  Enum = function(t, d) return ("VARCHAR(%d)"):format(t.max_length) end,
}

local loaded = {}

--- The dialect object for a name ("sqlite", "postgresql", "mysql").
-- @raise ArgumentError for an unknown dialect
function M.get(name)
  local d = loaded[name]
  if d then return d end
  local ok, mod = pcall(require, "athanor.dialects." .. tostring(name))
  if not ok or type(mod) ~= "table" then
    errors.raise("ArgumentError", 2, "Unknown dialect '%s' (known: sqlite, postgresql, mysql)", tostring(name))
  end
  loaded[name] = setmetatable(mod, base)
  return loaded[name]
end

return M
